import { Inject, Injectable } from '@nestjs/common';
import type { HealthIndicatorResult } from '@nestjs/terminus';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { Redis } from 'ioredis';
import { REDIS_CLIENT } from './redis.module.js';

/** Readiness of the shared Redis: it answers PING. */
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

  /** Bounded by the client's own command timeout (see RedisModule). */
  async pingCheck(key: string): Promise<HealthIndicatorResult> {
    const check = this.health.check(key);
    if (this.redis === null) return check.up();
    try {
      await this.redis.ping();
      return check.up();
    } catch (error) {
      return check.down({
        message: error instanceof Error ? error.message : String(error),
      });
    }
  }
}
