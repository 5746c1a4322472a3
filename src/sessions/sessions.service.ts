import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import {
  DataSource,
  EntityManager,
  IsNull,
  LessThan,
  Repository,
} from 'typeorm';
import type { Actor } from '../audit/actor.js';
import { AuditEventsService } from '../audit/audit-events.service.js';
import { SecurityEvents } from '../audit/security-events.service.js';
import { PrimaryKeyLookup } from '../common/primary-key-lookup.js';
import { hashSecret, newSecret } from '../common/secrets.js';
import type { AppConfig } from '../config/env.js';
import { inTransaction, shareLock } from '../database/transaction.js';
import { User } from '../users/user.entity.js';
import { RefreshToken } from './refresh-token.entity.js';
import type { SessionEndReason } from './session.entity.js';
import { Session } from './session.entity.js';

export interface IssuedRefreshToken {
  session: Session;
  refreshToken: string;
}

/** Why a refresh token cannot be exchanged. */
export type RefreshFailure =
  'unknown' | 'expired' | 'ended' | 'other_client' | 'reused';

export type RotationResult =
  | ({ ok: true } & IssuedRefreshToken)
  | { ok: false; reason: RefreshFailure; session?: Session };

/** Ended and expired sessions are kept this long for the user's history, then removed. */
const ENDED_SESSION_RETENTION_MS = 7 * 24 * 3600 * 1000;
const CLEANUP_INTERVAL_MS = 3600 * 1000;

/**
 * Refresh-token families (RFC 9700 §4.14.2): each login starts a session,
 * each refresh spends the presented token and issues its successor, and a
 * spent token presented again ends the whole family, since either the
 * client or a thief holds a copy.
 */
@Injectable()
export class SessionsService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(SessionsService.name);
  private readonly refreshTtlMs: number;
  /** The bearer guard's lookup, on every request. */
  private readonly byId: PrimaryKeyLookup<Session>;
  /** Every refresh reads its token, session and, on reuse, user. */
  private readonly refreshTokenByHash: PrimaryKeyLookup<RefreshToken>;
  private readonly userById: PrimaryKeyLookup<User>;
  private cleanupTimer?: NodeJS.Timeout;

  constructor(
    @InjectRepository(Session) private readonly sessions: Repository<Session>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly events: SecurityEvents,
    private readonly auditEvents: AuditEventsService,
    config: ConfigService<AppConfig, true>,
  ) {
    this.refreshTtlMs = config.get('REFRESH_TOKEN_TTL', { infer: true }) * 1000;
    this.byId = new PrimaryKeyLookup(dataSource, Session);
    this.refreshTokenByHash = new PrimaryKeyLookup(dataSource, RefreshToken);
    this.userById = new PrimaryKeyLookup(dataSource, User);
  }

  onModuleInit(): void {
    this.cleanupTimer = setInterval(() => {
      this.removeStale().catch((error: unknown) =>
        this.logger.warn(`Session cleanup failed: ${String(error)}`),
      );
    }, CLEANUP_INTERVAL_MS).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.cleanupTimer);
  }

  /**
   * A new login: a new family with its first refresh token; null when the
   * user changed their password or was deactivated while logging in.
   */
  async start(
    user: User,
    clientId: string,
    scopes: readonly string[],
    context: Actor,
  ): Promise<IssuedRefreshToken | null> {
    const now = new Date();
    const refreshToken = newSecret();
    return inTransaction(this.dataSource, async (manager) => {
      // The password was checked against the row as it was read before bcrypt ran. A password
      // change or deactivation since then ended every session: this login must not start a new
      // one behind it. The row is share-locked so that such a change waits for this transaction.
      const current = await manager.findOne(User, {
        where: { id: user.id },
        ...shareLock(this.dataSource),
      });
      if (
        current?.isActive !== true ||
        current.passwordHash !== user.passwordHash
      )
        return null;
      const session = await manager.save(
        manager.create(Session, {
          userId: user.id,
          clientId,
          scope: scopes.join(' '),
          userAgent: context.userAgent?.slice(0, 512) ?? null,
          ipAddress: context.ipAddress?.slice(0, 64) ?? null,
          lastUsedAt: now,
          expiresAt: new Date(now.getTime() + this.refreshTtlMs),
          endedAt: null,
          endReason: null,
        }),
      );
      await manager.insert(RefreshToken, {
        tokenHash: hashSecret(refreshToken),
        sessionId: session.id,
        expiresAt: session.expiresAt,
        spentAt: null,
      });
      await this.events.record(
        {
          type: 'login.succeeded',
          user: current,
          clientId,
          details: { sessionId: session.id, scope: session.scope },
        },
        context,
        manager,
      );
      return { session, refreshToken };
    });
  }

  /**
   * RFC 6749 §6 with rotation: spends the presented token and issues its
   * successor in one transaction. The spend is a conditional UPDATE, so of
   * two concurrent refreshes with one token the database lets exactly one
   * through; the other finds it spent, which is reuse.
   */
  async rotate(
    refreshToken: string,
    clientId: string,
    actor: Actor,
  ): Promise<RotationResult> {
    const tokenHash = hashSecret(refreshToken);
    const now = new Date();
    const result = await inTransaction(
      this.dataSource,

      async (manager): Promise<RotationResult> => {
        const presented = await this.refreshTokenByHash.find(
          tokenHash,
          manager,
        );
        const session =
          presented && (await this.byId.find(presented.sessionId, manager));
        if (!presented || !session) return { ok: false, reason: 'unknown' };
        // §6: a refresh token is bound to the client it was issued to; another client learns nothing.
        if (session.clientId !== clientId)
          return { ok: false, reason: 'other_client' };
        if (session.endedAt !== null)
          return { ok: false, reason: 'ended', session };

        const spend = await manager
          .createQueryBuilder()
          .update(RefreshToken)
          .set({ spentAt: now })
          .where('tokenHash = :tokenHash AND spentAt IS NULL', { tokenHash })
          .execute();
        if (spend.affected !== 1) {
          await this.endWithin(
            manager.getRepository(Session),
            session.id,
            'refresh_token_reuse',
            now,
          );
          await this.events.record(
            {
              type: 'refresh_token.reuse_detected',
              user: await this.userById.find(session.userId, manager),
              clientId,
              details: { sessionId: session.id },
            },
            actor,
            manager,
          );
          return { ok: false, reason: 'reused', session };
        }
        if (presented.expiresAt <= now)
          return { ok: false, reason: 'expired', session };

        const successor = newSecret();
        const expiresAt = new Date(now.getTime() + this.refreshTtlMs);
        await manager.insert(RefreshToken, {
          tokenHash: hashSecret(successor),
          sessionId: session.id,
          expiresAt,
          spentAt: null,
        });
        await manager.update(
          Session,
          { id: session.id },
          { lastUsedAt: now, expiresAt },
        );
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

  /** The session a refresh token belongs to, whatever its state. */
  async findByRefreshToken(refreshToken: string): Promise<RefreshToken | null> {
    const token = await this.refreshTokenByHash.find(hashSecret(refreshToken));
    if (token === null) return null;
    token.session = (await this.byId.find(token.sessionId)) ?? undefined;
    return token;
  }

  /** A session that has neither ended nor expired. */
  async findActive(sessionId: string): Promise<Session | null> {
    const session = await this.byId.find(sessionId);
    return session !== null &&
      session.endedAt === null &&
      session.expiresAt > new Date()
      ? session
      : null;
  }

  async listActive(userId: string): Promise<Session[]> {
    const sessions = await this.sessions.find({
      where: { userId, endedAt: IsNull() },
      order: { lastUsedAt: 'DESC' },
    });
    const now = new Date();
    return sessions.filter((session) => session.expiresAt > now);
  }

  /** Ends one session of this user; false when the user has no such session. */
  endForUser(
    user: User,
    sessionId: string,
    reason: SessionEndReason,
    actor: Actor,
  ): Promise<boolean> {
    return this.endRecorded({ id: sessionId, userId: user.id }, reason, actor);
  }

  async end(
    sessionId: string,
    reason: SessionEndReason,
    actor: Actor = {},
  ): Promise<void> {
    await this.endRecorded({ id: sessionId }, reason, actor);
  }

  /** Pass the manager of a transaction that also changed the user, so that both land together. */
  async endAllForUser(
    userId: string,
    reason: SessionEndReason,
    manager: EntityManager = this.sessions.manager,
  ): Promise<void> {
    await manager.update(
      Session,
      { userId, endedAt: IsNull() },
      { endedAt: new Date(), endReason: reason },
    );
  }

  /** A deleted client's logins end with it: pass the manager of the transaction that deletes it. */
  async endAllForClient(
    clientId: string,
    manager: EntityManager = this.sessions.manager,
  ): Promise<void> {
    await manager.update(
      Session,
      { clientId, endedAt: IsNull() },
      { endedAt: new Date(), endReason: 'revoked' },
    );
  }

  /**
   * Removes expired refresh tokens, sessions ended or expired long enough
   * ago, and audit events past their retention.
   */
  async removeStale(now = new Date()): Promise<void> {
    const horizon = new Date(now.getTime() - ENDED_SESSION_RETENTION_MS);
    await this.dataSource
      .getRepository(RefreshToken)
      .delete({ expiresAt: LessThan(now) });
    await this.sessions.delete({ expiresAt: LessThan(horizon) });
    await this.sessions.delete({ endedAt: LessThan(horizon) });
    await this.auditEvents.removeExpired(now);
  }

  /** Ends the session these conditions find, if it is live, and says so in the audit log. */
  private endRecorded(
    where: { id: string; userId?: string },
    reason: SessionEndReason,
    actor: Actor,
  ): Promise<boolean> {
    return inTransaction(this.dataSource, async (manager) => {
      const session = await manager.findOne(Session, {
        where: { ...where, endedAt: IsNull() },
        relations: { user: true },
      });
      if (session === null) return false;
      await this.endWithin(
        manager.getRepository(Session),
        session.id,
        reason,
        new Date(),
      );
      await this.events.record(
        {
          type: 'session.ended',
          user: session.user,
          clientId: session.clientId,
          details: { sessionId: session.id, reason },
        },
        actor,
        manager,
      );
      return true;
    });
  }

  private async endWithin(
    sessions: Repository<Session>,
    sessionId: string,
    reason: SessionEndReason,
    now: Date,
  ): Promise<void> {
    await sessions.update(
      { id: sessionId, endedAt: IsNull() },
      { endedAt: now, endReason: reason },
    );
  }
}
