import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import type { DataSource, EntityTarget } from 'typeorm';
import { LessThan } from 'typeorm';
import { isUniqueViolation } from '../database/unique-violation.js';

const CLEANUP_INTERVAL_MS = 3600 * 1000;

/** A row of a single-use table: a fixed-width id and when it may be forgotten. */
export interface UsedId {
  id: string;
  expiresAt: Date;
}

/**
 * Ids that may be used once (a client assertion's or a DPoP proof's
 * `jti`), in a table every instance shares: its primary key makes the
 * database the referee, so the second insert of one id fails whichever
 * instance makes it. Each is remembered until the thing it names expires,
 * and purged hourly on a timer of its own: the session and audit clean-ups
 * live in layers below this one and may not know these tables.
 */
export abstract class SingleUseIds implements OnModuleInit, OnModuleDestroy {
  private readonly logger: Logger;
  private cleanupTimer?: NodeJS.Timeout;

  protected constructor(
    private readonly dataSource: DataSource,
    private readonly table: EntityTarget<UsedId>,
    private readonly what: string,
    loggerContext: string,
  ) {
    this.logger = new Logger(loggerContext);
  }

  onModuleInit(): void {
    this.cleanupTimer = setInterval(() => {
      this.removeExpired().catch((error: unknown) =>
        this.logger.warn(`${this.what} cleanup failed: ${String(error)}`),
      );
    }, CLEANUP_INTERVAL_MS).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.cleanupTimer);
  }

  async removeExpired(now = new Date()): Promise<void> {
    await this.dataSource
      .getRepository(this.table)
      .delete({ expiresAt: LessThan(now) });
  }

  /** Records the use of `id`; false if it was used before and has not expired. */
  protected async useOnce(id: string, expiresAt: Date): Promise<boolean> {
    const repository = this.dataSource.getRepository(this.table);
    // An id may come back once what it named expired and the purge has not run yet.
    await repository.delete({ id, expiresAt: LessThan(new Date()) });
    try {
      await repository.insert({ id, expiresAt });
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }
}
