import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager } from 'typeorm';
import { Repository } from 'typeorm';
import { withoutNul } from '../database/text.js';
import type { IssuedGrantType } from '../metrics/metrics.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { Actor } from './actor.js';
import type { AuditDetails, AuditEventType } from './audit-event.entity.js';
import { AuditEvent } from './audit-event.entity.js';

/** Text as typed by a caller, cut to its column and storable on every engine. */
function recordable(
  value: string | null | undefined,
  length: number,
): string | null {
  return value == null ? null : withoutNul(value.slice(0, length));
}

export interface SecurityEvent {
  type: AuditEventType;
  /** The account the event is about; for a failed login, only the name may be known. */
  user?: { id: string | null; username: string } | null;
  clientId?: string | null;
  /** Non-secret facts only: a test scans every stored row for the secrets it used. */
  details?: AuditDetails;
}

/** Why a password-grant login failed, as the audit log tells an administrator. */
export type LoginFailure =
  | 'unknown_user'
  | 'wrong_password'
  | 'inactive_account'
  /** The password changed or the account was deactivated while the login ran. */
  | 'superseded'
  /** Refused before the password was checked: the username must wait (LoginBackoff). */
  | 'too_many_attempts'
  /** The password was right, but the user's roles do not allow the scope asked for. */
  | 'scope_not_allowed';

/**
 * The one seam through which security events leave a trace: the audit row
 * and, for the events Prometheus counts, the counter. Pass the manager of
 * the transaction that makes the change, so that an event never outlives a
 * change that rolled back.
 */
@Injectable()
export class SecurityEvents {
  constructor(
    @InjectRepository(AuditEvent)
    private readonly events: Repository<AuditEvent>,
    private readonly metrics: MetricsService,
  ) {}

  async record(
    event: SecurityEvent,
    actor: Actor = {},
    manager: EntityManager = this.events.manager,
  ): Promise<void> {
    await manager.insert(AuditEvent, {
      occurredAt: new Date(),
      type: event.type,
      userId: event.user?.id ?? null,
      username: recordable(event.user?.username, 64),
      actorId: actor.id ?? null,
      clientId: recordable(event.clientId, 64),
      ipAddress: actor.ipAddress?.slice(0, 64) ?? null,
      userAgent: actor.userAgent?.slice(0, 512) ?? null,
      details:
        event.details === undefined
          ? null
          : (JSON.parse(
              // Each string value: in JSON text a NUL is already escaped.
              JSON.stringify(event.details, (_key, value: unknown) =>
                typeof value === 'string' ? withoutNul(value) : value,
              ),
            ) as AuditDetails),
    });
    this.count(event);
  }

  /** A failed password-grant login: the name attempted, never the password. */
  loginFailed(
    attempt: {
      username: string;
      user: { id: string; username: string } | null;
      clientId: string;
      reason: LoginFailure;
    },
    actor: Actor,
  ): Promise<void> {
    return this.record(
      {
        type: 'login.failed',
        user: attempt.user ?? { id: null, username: attempt.username },
        clientId: attempt.clientId,
        details: { reason: attempt.reason },
      },
      actor,
    );
  }

  /**
   * Refreshes and client_credentials tokens are routine, every few minutes
   * per client: counted, not written to the audit log, which they would drown.
   */
  tokenIssued(grantType: Exclude<IssuedGrantType, 'password'>): void {
    this.metrics.countTokenIssued(grantType);
  }

  private count({ type, details }: SecurityEvent): void {
    switch (type) {
      case 'login.succeeded':
        this.metrics.countLogin('success');
        this.metrics.countTokenIssued('password');
        break;
      case 'login.failed': {
        const reason = details?.reason as LoginFailure;
        this.metrics.countLogin(
          reason === 'unknown_user' || reason === 'wrong_password'
            ? 'invalid_credentials'
            : reason,
        );
        break;
      }
      case 'refresh_token.reuse_detected':
        this.metrics.countRefreshTokenReuse();
        break;
    }
  }
}
