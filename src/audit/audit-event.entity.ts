import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** Every kind of event the audit log records; README lists what each means. */
export const AUDIT_EVENT_TYPES = [
  'user.registered',
  'login.succeeded',
  'login.failed',
  'client_authentication.failed',
  'refresh_token.reuse_detected',
  'session.ended',
  'password.changed',
  'password.confirmation_failed',
  'user.deactivated',
  'user.reactivated',
  'user.roles_changed',
  'user.renamed',
  'user.deleted',
  'client.created',
  'client.deleted',
  'client.keys_replaced',
  'resource_server.registered',
  'resource_server.deleted',
  'resource_server.client_allowed',
  'resource_server.client_disallowed',
  'token.exchanged',
  'signing_key.rotated',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** Non-secret facts about an event: ids, reasons, scopes. Never a password, token or hash. */
export type AuditDetails = Record<string, string | number | boolean | string[]>;

/**
 * One security-relevant event, kept for AUDIT_RETENTION_DAYS. `userId` is
 * not a foreign key: deleting a user must not erase the history an operator
 * needs to investigate that account, so the id and the username at the time
 * stay on the row.
 */
@Entity({ name: 'audit_events' })
@Index('IDX_audit_events_occurredAt', ['occurredAt'])
@Index('IDX_audit_events_userId_occurredAt', ['userId', 'occurredAt'])
export class AuditEvent {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: Date })
  occurredAt!: Date;

  @Column({ type: 'varchar', length: 64 })
  type!: AuditEventType;

  /** The account the event is about, even after it was deleted. */
  @Column({ type: 'uuid', nullable: true })
  userId!: string | null;

  /** The username at the time; for a failed login, the one attempted. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  username!: string | null;

  /** Who acted, when not the user themselves: an administrator's user id or a client's id. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  actorId!: string | null;

  /** The OAuth client the request came through. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  clientId!: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ipAddress!: string | null;

  @Column({ type: 'varchar', length: 512, nullable: true })
  userAgent!: string | null;

  @Column({ type: 'simple-json', nullable: true })
  details!: AuditDetails | null;
}
