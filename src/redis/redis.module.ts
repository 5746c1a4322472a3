import type { OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Global, Inject, Logger, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Redis } from 'ioredis';
import { isPostgresUrl } from '../database/database.options.js';
import type { AppConfig } from '../config/env.js';

/** A counter update takes well under a millisecond on a healthy Redis. */
const COMMAND_TIMEOUT_MS = 500;

/** What instances lose while Redis is away; they keep serving. */
export const WITHOUT_REDIS =
  'rate limits and the login back-off are counted per instance until Redis answers again';

/** The shared ioredis client, or null when REDIS_URL is not set. */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

/**
 * One Redis connection per instance, for whatever must be shared between
 * instances beyond the database (the rate-limit counters). Global, so the
 * rate limiters and the readiness check inject the same client.
 */
@Global()
@Module({
  providers: [
    {
      provide: REDIS_CLIENT,
      inject: [ConfigService],
      useFactory: async (
        config: ConfigService<AppConfig, true>,
      ): Promise<Redis | null> => {
        const url = config.get('REDIS_URL', { infer: true });
        if (url === undefined) return null;
        // Loaded only when configured: a single instance never needs the client's code.
        const { Redis } = await import('ioredis');
        const client = new Redis(url, {
          // A command while Redis is away fails at once instead of queueing
          // behind a reconnect, so a request is not held up by it.
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          connectTimeout: 2_000,
          // A Redis that stops answering on an open connection still looks
          // ready: without a deadline a login would wait on it for minutes.
          // A command that fails falls back to per-instance counting.
          commandTimeout: COMMAND_TIMEOUT_MS,
        });
        logAvailabilityChanges(client, new Logger('Redis'));
        return client;
      },
    },
  ],
  exports: [REDIS_CLIENT],
})
export class RedisModule implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RedisModule.name);

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis | null,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  onApplicationBootstrap(): void {
    // PostgreSQL is how several instances share one service; the rate-limit
    // counters then need Redis to be shared too.
    if (
      this.redis === null &&
      isPostgresUrl(this.config.get('DATABASE_URL', { infer: true }))
    ) {
      this.logger.warn(
        'DATABASE_URL is PostgreSQL but REDIS_URL is not set: rate-limit counters are kept per instance, so behind a load balancer each instance allows the full limit',
      );
    }
  }

  async onModuleDestroy(): Promise<void> {
    if (this.redis === null) return;
    // quit() waits for a reply that never comes while Redis is away.
    if (this.redis.status === 'ready') {
      await this.redis.quit().catch(() => undefined);
    }
    this.redis.disconnect();
  }
}

/**
 * One line when Redis is lost and one when it is back, whatever ioredis
 * retries meanwhile (each failed reconnect is an `error` event). ioredis
 * reconnects by itself; without an `error` listener an outage would crash
 * the process.
 */
function logAvailabilityChanges(client: Redis, logger: Logger): void {
  let lost = false;
  client.on('error', (error: Error) => {
    if (lost) return;
    lost = true;
    logger.warn(`Redis unreachable (${error.message}): ${WITHOUT_REDIS}`);
  });
  client.on('ready', () => {
    if (!lost) return;
    lost = false;
    logger.log('Redis answers again: rate limits are shared again');
  });
}
