import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, LessThan } from 'typeorm';
import { RefreshToken } from './refresh-token.entity.js';
import { Session } from './session.entity.js';

/** Ended and expired sessions are kept this long for the user's history, then removed. */
const ENDED_SESSION_RETENTION_MS = 7 * 24 * 3600 * 1000;
const CLEANUP_INTERVAL_MS = 3600 * 1000;

/** Forgets, every hour, what no request can use any more. */
@Injectable()
export class SessionCleanup implements OnModuleInit, OnModuleDestroy {
  // The context the cleanup has always been logged under: log searches and alerts filter on it.
  private readonly logger = new Logger('SessionsService');
  private cleanupTimer?: NodeJS.Timeout;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

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

  /** Removes expired refresh tokens, and sessions ended or expired long enough ago. */
  async removeStale(now = new Date()): Promise<void> {
    const horizon = new Date(now.getTime() - ENDED_SESSION_RETENTION_MS);
    await this.dataSource
      .getRepository(RefreshToken)
      .delete({ expiresAt: LessThan(now) });
    const sessions = this.dataSource.getRepository(Session);
    await sessions.delete({ expiresAt: LessThan(horizon) });
    await sessions.delete({ endedAt: LessThan(horizon) });
  }
}
