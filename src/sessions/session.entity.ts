import {
  Column,
  CreateDateColumn,
  Entity,
  ForeignKey,
  Index,
  PrimaryGeneratedColumn,
} from 'typeorm';

/** Why a session ended before it expired. */
export type SessionEndReason =
  | 'logout'
  | 'revoked'
  | 'refresh_token_reuse'
  | 'password_changed'
  | 'user_deactivated';

/** The grant a session started with. */
export type SessionGrantType =
  'password' | 'authorization_code' | 'device_code';

/**
 * One login on one device: a family of refresh tokens (RFC 9700 §4.14),
 * each replacing the one before. Ending the session ends all of them and
 * the access tokens issued in it.
 */
@Entity({ name: 'sessions' })
@Index('IDX_sessions_userId', ['userId'])
export class Session {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  /**
   * Deleting the user deletes their sessions. The key names the users
   * table by its entity's name, not its class: sessions are below users
   * and import nothing of them.
   */
  @Column({ type: 'uuid' })
  @ForeignKey('User', 'id', { name: 'FK_sessions_userId', onDelete: 'CASCADE' })
  userId!: string;

  @Column({ type: 'varchar', length: 64 })
  clientId!: string;

  /**
   * The API (RFC 8707 resource) whose scopes `scope` holds; null for this
   * service itself.
   */
  @Column({ type: 'varchar', length: 512, nullable: true })
  resource!: string | null;

  /**
   * How the session started: a password grant (null for sessions from
   * before this was kept), or a consent or approval the user gave for one
   * API's scopes (authorization_code, device_code), which a refresh may not
   * carry to another API.
   */
  @Column({ type: 'varchar', length: 32, nullable: true })
  grantType!: SessionGrantType | null;

  /**
   * The scopes granted at login; a refresh may narrow them, never widen.
   * Text: an API may define many long scopes.
   */
  @Column({ type: 'text' })
  scope!: string;

  @Column({ type: 'varchar', length: 512, nullable: true })
  userAgent!: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ipAddress!: string | null;

  @CreateDateColumn()
  createdAt!: Date;

  @Column({ type: Date })
  lastUsedAt!: Date;

  /** When the newest refresh token of the family expires. */
  @Column({ type: Date })
  expiresAt!: Date;

  @Column({ type: Date, nullable: true })
  endedAt!: Date | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  endReason!: SessionEndReason | null;

  /**
   * The RFC 7638 thumbprint of the DPoP key a public client's login was
   * bound to (RFC 9449 §5): every refresh of this session must prove it.
   */
  @Column({ type: 'varchar', length: 64, nullable: true })
  dpopJkt!: string | null;
}
