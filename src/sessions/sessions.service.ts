import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, IsNull, Repository } from 'typeorm';
import { PrimaryKeyLookup } from '../common/primary-key-lookup.js';
import { hashSecret } from '../common/secrets.js';
import { RefreshToken } from './refresh-token.entity.js';
import type { RefreshTokenState } from './refresh-token-state.js';
import { refreshTokenState } from './refresh-token-state.js';
import { Session } from './session.entity.js';

/** A refresh token as it was presented: its row, its session, and what it is worth now. */
export interface PresentedRefreshToken {
  token: RefreshToken;
  session: Session;
  state: RefreshTokenState;
}

/** Reading sessions and refresh tokens: the lookups the other features make. */
@Injectable()
export class SessionsService {
  /** The bearer guard's lookup, on every request. */
  private readonly byId: PrimaryKeyLookup<Session>;
  /** Every refresh reads its token first. */
  private readonly refreshTokenByHash: PrimaryKeyLookup<RefreshToken>;

  constructor(
    @InjectRepository(Session) private readonly sessions: Repository<Session>,
    @InjectDataSource() dataSource: DataSource,
  ) {
    this.byId = new PrimaryKeyLookup(dataSource, Session);
    this.refreshTokenByHash = new PrimaryKeyLookup(dataSource, RefreshToken);
  }

  /** The session a refresh token belongs to, whatever its state. */
  async findByRefreshToken(refreshToken: string): Promise<RefreshToken | null> {
    const token = await this.refreshTokenByHash.find(hashSecret(refreshToken));
    if (token === null) return null;
    token.session = (await this.byId.find(token.sessionId)) ?? undefined;
    return token;
  }

  /**
   * A refresh token with its session and its state (refreshTokenState), or
   * null when no session has it. `presentedBy`: the client exchanging it;
   * omitted when it is only looked at.
   */
  async presentedRefreshToken(
    refreshToken: string,
    presentedBy?: string,
  ): Promise<PresentedRefreshToken | null> {
    const token = await this.findByRefreshToken(refreshToken);
    const session = token?.session;
    if (!token || !session) return null;
    return {
      token,
      session,
      state: refreshTokenState(token, session, {
        presentedBy,
        now: new Date(),
      }),
    };
  }

  async listActive(userId: string): Promise<Session[]> {
    const sessions = await this.sessions.find({
      where: { userId, endedAt: IsNull() },
      order: { lastUsedAt: 'DESC' },
    });
    const now = new Date();
    return sessions.filter((session) => isActiveSession(session, now));
  }
}

/** A session that has neither ended nor expired. */
export function isActiveSession(
  session: Pick<Session, 'endedAt' | 'expiresAt'>,
  now = new Date(),
): boolean {
  return session.endedAt === null && session.expiresAt > now;
}
