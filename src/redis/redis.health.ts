import { Inject, Injectable } from '@nestjs/common';
import type { HealthIndicatorResult } from '@nestjs/terminus';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { Redis } from 'ioredis';
import { REDIS_CLIENT, WITHOUT_REDIS } from './redis.module.js';

/**
 * The shared Redis in readiness: it answers PING. Down is `degraded`, not
 * `down`: every instance still serves (the counters fall back to memory),
 * so a load balancer that follows readiness must not take the whole fleet
 * out at once for it. The body, the log (RedisModule) and the `redis_up`
 * gauge say it.
 */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis | null,
    private readonly health: HealthIndicatorService,
  ) {}

  /** Whether REDIS_URL is set, so that readiness reports Redis. */
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
      return check.degraded({
        message: error instanceof Error ? error.message : String(error),
        impact: WITHOUT_REDIS,
      });
    }
  }
}
