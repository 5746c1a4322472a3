import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import type { EntityManager } from 'typeorm';
import { DataSource } from 'typeorm';
import type { Actor } from '../access/actor.js';
import { SecurityEvents } from '../audit/security-events.service.js';
import { PreparedWrite } from '../common/prepared-write.js';
import { hashSecret, newSecret } from '../common/secrets.js';
import type { AppConfig } from '../config/env.js';
import { inTransaction } from '../database/transaction.js';
import { RefreshToken } from './refresh-token.entity.js';
import { Session } from './session.entity.js';
import { SessionEnder } from './session-ender.service.js';
import type { SessionOwner } from './session-owner.js';
import type { IssuedRefreshToken } from './session-starter.service.js';
import type { PresentedRefreshToken } from './sessions.service.js';

/** Why a refresh token cannot be exchanged. */
export type RefreshFailure =
  'unknown' | 'expired' | 'ended' | 'other_client' | 'reused';

export type RotationResult =
  | ({ ok: true } & IssuedRefreshToken)
  | { ok: false; reason: RefreshFailure; session?: Session };

/**
 * RFC 6749 §6 with rotation (RFC 9700 §4.14.2): each refresh spends the
 * presented token and issues its successor, and a spent token presented
 * again ends the whole family, since either the client or a thief holds a
 * copy.
 */
@Injectable()
export class RefreshTokenRotation {
  // The context this warning has always been logged under: log searches and alerts filter on it.
  private readonly logger = new Logger('SessionsService');
  private readonly refreshTtlMs: number;
  /** The three writes of every refresh, as SQL written once (PreparedWrite). */
  private readonly spendToken: PreparedWrite<'spentAt' | 'tokenHash'>;
  private readonly extendSession: PreparedWrite<
    'lastUsedAt' | 'expiresAt' | 'id'
  >;
  private readonly storeSuccessor: PreparedWrite<
    'tokenHash' | 'sessionId' | 'expiresAt' | 'spentAt'
  >;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly ender: SessionEnder,
    private readonly events: SecurityEvents,
    config: ConfigService<AppConfig, true>,
  ) {
    this.refreshTtlMs = config.get('REFRESH_TOKEN_TTL', { infer: true }) * 1000;
    this.spendToken = new PreparedWrite(
      dataSource,
      RefreshToken,
      ['spentAt', 'tokenHash'],
      ({ table, column, parameter }) =>
        `UPDATE ${table} SET ${column('spentAt')} = ${parameter('spentAt')}` +
        ` WHERE ${column('tokenHash')} = ${parameter('tokenHash')} AND ${column('spentAt')} IS NULL`,
    );
    this.extendSession = new PreparedWrite(
      dataSource,
      Session,
      ['lastUsedAt', 'expiresAt', 'id'],
      ({ table, column, parameter }) =>
        `UPDATE ${table} SET ${column('lastUsedAt')} = ${parameter('lastUsedAt')},` +
        ` ${column('expiresAt')} = ${parameter('expiresAt')}` +
        ` WHERE ${column('id')} = ${parameter('id')} AND ${column('endedAt')} IS NULL`,
    );
    // createdAt is left to the column's default, as TypeORM's insert leaves it.
    this.storeSuccessor = new PreparedWrite(
      dataSource,
      RefreshToken,
      ['tokenHash', 'sessionId', 'expiresAt', 'spentAt'],
      ({ table, column, parameter }) =>
        `INSERT INTO ${table} (${column('tokenHash')}, ${column('sessionId')}, ${column('expiresAt')}, ${column('spentAt')})` +
        ` VALUES (${parameter('tokenHash')}, ${parameter('sessionId')}, ${parameter('expiresAt')}, ${parameter('spentAt')})`,
    );
  }

  /**
   * Spends the presented token and issues its successor in one
   * transaction. `presented` is the token as the caller read it, with its
   * session (SessionsService.presentedRefreshToken): the rotation does not
   * read them again, since every write it depends on is conditional. The
   * spend is `UPDATE … WHERE spentAt IS NULL`, so of two concurrent
   * refreshes with one token the database lets exactly one through; the
   * other finds it spent, which is reuse. The session is extended only
   * while it has not ended, so a logout that lands after the read still
   * wins. `owner`: the user the caller read for this token's session,
   * whom the audit row of a reuse names.
   */
  async rotate(
    presented: PresentedRefreshToken | null,
    clientId: string,
    owner: SessionOwner | null,
    actor: Actor,
  ): Promise<RotationResult> {
    if (presented === null) return { ok: false, reason: 'unknown' };
    const { token, session, state } = presented;
    // Another client learns nothing, not even that the session ended.
    if (state === 'other_client') return { ok: false, reason: 'other_client' };
    if (state === 'ended') return { ok: false, reason: 'ended', session };
    const now = new Date();
    const result = await inTransaction(
      this.dataSource,
      async (manager): Promise<RotationResult> => {
        // An expired token is spent too: presented again, it is reuse like any other.
        if (
          state === 'spent' ||
          !(await this.spend(manager, token.tokenHash, now))
        ) {
          await this.ender.endWithin(
            manager,
            { id: session.id },
            'refresh_token_reuse',
          );
          await this.events.record(
            {
              type: 'refresh_token.reuse_detected',
              user: owner,
              clientId,
              details: { sessionId: session.id },
            },
            actor,
            manager,
          );
          return { ok: false, reason: 'reused', session };
        }
        if (state === 'expired')
          return { ok: false, reason: 'expired', session };

        const expiresAt = new Date(now.getTime() + this.refreshTtlMs);
        if (!(await this.extend(manager, session.id, now, expiresAt)))
          return { ok: false, reason: 'ended', session };
        const successor = newSecret();
        await this.storeSuccessor.run(manager, {
          tokenHash: hashSecret(successor),
          sessionId: session.id,
          expiresAt,
          spentAt: null,
        });
        return {
          ok: true,
          session: { ...session, lastUsedAt: now, expiresAt },
          refreshToken: successor,
        };
      },
    );
    if (!result.ok && result.reason === 'reused') {
      this.logger.warn(
        `Refresh token reuse detected: session ${result.session?.id} of user ${result.session?.userId} ended`,
      );
    }
    return result;
  }

  /** True when the session was extended; false when it ended since it was read. */
  private async extend(
    manager: EntityManager,
    sessionId: string,
    lastUsedAt: Date,
    expiresAt: Date,
  ): Promise<boolean> {
    const extended = await this.extendSession.run(manager, {
      lastUsedAt,
      expiresAt,
      id: sessionId,
    });
    return extended === 1;
  }

  /** True when this call spent the token; false when another spent it first. */
  private async spend(
    manager: EntityManager,
    tokenHash: string,
    now: Date,
  ): Promise<boolean> {
    const spent = await this.spendToken.run(manager, {
      spentAt: now,
      tokenHash,
    });
    return spent === 1;
  }
}
