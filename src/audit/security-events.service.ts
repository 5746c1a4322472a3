import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { EntityManager } from 'typeorm';
import { Repository } from 'typeorm';
import type { AppConfig } from '../config/env.js';
import { withoutNul } from '../database/text.js';
import type { IssuedGrantType } from '../metrics/metrics.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { RateLimiters } from '../rate-limiting/rate-limiters.service.js';
import type { Actor } from '../access/actor.js';
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
  | 'scope_not_allowed'
  /** PASSWORD_GRANT=disabled: refused before the password was checked. */
  | 'grant_disabled';

/**
 * The one seam through which security events leave a trace: the audit row
 * and, for the events Prometheus counts, the counter. Pass the manager of
 * the transaction that makes the change, so that an event never outlives a
 * change that rolled back.
 */
@Injectable()
export class SecurityEvents {
  private readonly repeatWindowMs: number;
  /** How often each event has repeated in its window, shared through Redis when it is set. */
  private readonly repeats: RateLimiterAbstract;

  constructor(
    @InjectRepository(AuditEvent)
    private readonly events: Repository<AuditEvent>,
    private readonly metrics: MetricsService,
    limiters: RateLimiters,
    config: ConfigService<AppConfig, true>,
  ) {
    const windowSeconds = config.get('AUDIT_REPEAT_WINDOW_SECONDS', {
      infer: true,
    });
    this.repeatWindowMs = windowSeconds * 1000;
    this.repeats = limiters.create({
      keyPrefix: 'audit-repeats',
      points: 1,
      duration: windowSeconds,
    });
  }

  async record(
    event: SecurityEvent,
    actor: Actor = {},
    manager: EntityManager = this.events.manager,
  ): Promise<void> {
    await manager.insert(AuditEvent, this.rowOf(event, actor));
    this.count(event);
  }

  /**
   * An event anyone can repeat at will, such as a refused login: one row per
   * `repeatKey` and window of AUDIT_REPEAT_WINDOW_SECONDS, not one per
   * request, so that a loop can neither fill the disk nor bury the other
   * events. The windows are aligned to the clock and the row's id is derived
   * from the key and the window, so instances that share the database write
   * one row between them. The row's `attempts` is the count of a counter
   * that instances sharing Redis share, written when it reaches 1, 2, 4, 8…:
   * a flood of n requests costs about log2(n) writes, and the row tells its
   * size to within a factor of two. The Prometheus counters count each one.
   */
  async recordRepeated(
    event: SecurityEvent,
    actor: Actor,
    repeatKey: string,
  ): Promise<void> {
    const window = Math.floor(Date.now() / this.repeatWindowMs);
    const digest = createHash('sha256')
      .update(`${event.type}\0${repeatKey}\0${window}`)
      .digest();
    const { consumedPoints: attempts } = await this.repeats.penalty(
      digest.toString('base64url'),
    );
    this.count(event);
    if (!isPowerOfTwo(attempts)) return;
    await this.events
      .createQueryBuilder()
      .insert()
      .into(AuditEvent)
      .values({
        ...this.rowOf(
          { ...event, details: { ...event.details, attempts } },
          actor,
        ),
        id: uuidOf(digest),
      })
      // The first row of the window stays (its time, its origin); only the count moves.
      .orUpdate(['details'], ['id'])
      .execute();
  }

  private rowOf(event: SecurityEvent, actor: Actor) {
    return {
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
    };
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
   * A login refused before its password was checked, because its back-off
   * bucket (the username's, or a known device's) must wait: anyone can send
   * these by the thousand, so they are one row per bucket and window.
   */
  loginRefused(
    attempt: { username: string; clientId: string; bucket: string },
    actor: Actor,
  ): Promise<void> {
    return this.recordRepeated(
      {
        type: 'login.failed',
        user: { id: null, username: attempt.username },
        clientId: attempt.clientId,
        details: { reason: 'too_many_attempts' },
      },
      actor,
      attempt.bucket,
    );
  }

  /**
   * A password grant refused because PASSWORD_GRANT=disabled, before its
   * password was checked: a client still sending them may loop, so one row
   * per client and window, with `attempts`.
   */
  loginDisabled(
    attempt: { username: string | undefined; clientId: string },
    actor: Actor,
  ): Promise<void> {
    return this.recordRepeated(
      {
        type: 'login.failed',
        user:
          attempt.username === undefined
            ? null
            : { id: null, username: attempt.username },
        clientId: attempt.clientId,
        details: { reason: 'grant_disabled' },
      },
      actor,
      `grant_disabled\0${attempt.clientId}`,
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
        this.metrics.countTokenIssued(
          (details?.grantType as IssuedGrantType | undefined) ?? 'password',
        );
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

function isPowerOfTwo(count: number): boolean {
  return count > 0 && (count & (count - 1)) === 0;
}

/** A UUID (RFC 9562 §5.8, version 8: custom) made of the digest's first 128 bits. */
function uuidOf(digest: Buffer): string {
  const bytes = Buffer.from(digest.subarray(0, 16));
  bytes[6] = (bytes[6] & 0x0f) | 0x80;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return [
    hex.slice(0, 8),
    hex.slice(8, 12),
    hex.slice(12, 16),
    hex.slice(16, 20),
    hex.slice(20),
  ].join('-');
}
