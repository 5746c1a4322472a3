import { Inject, Injectable } from '@nestjs/common';
import type { HealthIndicatorResult } from '@nestjs/terminus';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { Redis } from 'ioredis';
import { REDIS_CLIENT } from './redis.module.js';

/** Readiness of the shared Redis: it answers PING within the timeout. */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis | null,
    private readonly health: HealthIndicatorService,
  ) {}

  /** Whether REDIS_URL is set, so that readiness depends on Redis. */
  get configured(): boolean {
    return this.redis !== null;
  }

  async pingCheck(
    key: string,
    { timeout }: { timeout: number },
  ): Promise<HealthIndicatorResult> {
    const check = this.health.check(key);
    if (this.redis === null) return check.up();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.redis.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${timeout} ms`)),
            timeout,
          );
        }),
      ]);
      return check.up();
    } catch (error) {
      return check.down({
        message: error instanceof Error ? error.message : String(error),
      });
    } finally {
      clearTimeout(timer);
    }
  }
}
