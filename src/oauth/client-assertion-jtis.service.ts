import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { DataSource, LessThan } from 'typeorm';
import { isUniqueViolation } from '../database/unique-violation.js';
import { ClientAssertionJti } from './client-assertion-jti.entity.js';

const CLEANUP_INTERVAL_MS = 3600 * 1000;

/**
 * The `jti`s of used client assertions, in the database every instance
 * shares. Purged hourly on a timer of its own: the session and audit
 * clean-ups live in layers below this one and may not know its table.
 */
@Injectable()
export class ClientAssertionJtis implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(ClientAssertionJtis.name);
  private cleanupTimer?: NodeJS.Timeout;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  onModuleInit(): void {
    this.cleanupTimer = setInterval(() => {
      this.removeExpired().catch((error: unknown) =>
        this.logger.warn(
          `Client assertion jti cleanup failed: ${String(error)}`,
        ),
      );
    }, CLEANUP_INTERVAL_MS).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.cleanupTimer);
  }

  /** Records the use of `jti` by `clientId`; false if it was used before and has not expired. */
  async use(clientId: string, jti: string, expiresAt: Date): Promise<boolean> {
    const repository = this.dataSource.getRepository(ClientAssertionJti);
    const id = createHash('sha256')
      .update(`${clientId} ${jti}`, 'utf8')
      .digest('hex');
    // A jti may come back once its first assertion expired and the purge has not run yet.
    await repository.delete({ id, expiresAt: LessThan(new Date()) });
    try {
      await repository.insert({ id, expiresAt });
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  async removeExpired(now = new Date()): Promise<void> {
    await this.dataSource
      .getRepository(ClientAssertionJti)
      .delete({ expiresAt: LessThan(now) });
  }
}
