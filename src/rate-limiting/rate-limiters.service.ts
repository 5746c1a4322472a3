import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Redis } from 'ioredis';
import type {
  IRateLimiterOptions,
  RateLimiterAbstract,
} from 'rate-limiter-flexible';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import { TooManyRequestsException } from '../common/http-problem.exception.js';
import type { AppConfig } from '../config/env.js';
import { REDIS_CLIENT } from '../redis/redis.module.js';
import { clientKeyOf } from './client-key.js';

/** The per-client-IP limits, each with its configuration and the 429's words. */
const PER_IP_LIMITS = {
  token: {
    limit: 'THROTTLE_TOKEN_LIMIT',
    ttl: 'THROTTLE_TOKEN_TTL',
    refusal: 'Too many token requests from this address.',
  },
  registration: {
    limit: 'THROTTLE_REGISTRATION_LIMIT',
    ttl: 'THROTTLE_REGISTRATION_TTL',
    refusal: 'Too many registrations from this address.',
  },
  'password-change': {
    limit: 'THROTTLE_PASSWORD_CHANGE_LIMIT',
    ttl: 'THROTTLE_PASSWORD_CHANGE_TTL',
    refusal: 'Too many password changes from this address.',
  },
} as const satisfies Record<
  string,
  { limit: keyof AppConfig; ttl: keyof AppConfig; refusal: string }
>;

export type RateLimitName = keyof typeof PER_IP_LIMITS;

/**
 * The service's counters, all made here so that where they live is one
 * decision: in Redis when REDIS_URL is set, so that every instance counts
 * against the same limit; in this process's memory otherwise.
 */
@Injectable()
export class RateLimiters {
  private readonly perIp: Record<RateLimitName, RateLimiterAbstract>;

  constructor(
    private readonly config: ConfigService<AppConfig, true>,
    @Inject(REDIS_CLIENT) private readonly redis: Redis | null,
  ) {
    this.perIp = Object.fromEntries(
      Object.entries(PER_IP_LIMITS).map(([name, { limit, ttl }]) => [
        name,
        this.create({
          keyPrefix: `ip-${name}`,
          points: this.config.get(limit, { infer: true }),
          duration: this.config.get(ttl, { infer: true }),
        }),
      ]),
    ) as Record<RateLimitName, RateLimiterAbstract>;
  }

  /** A fixed-window counter per key: `points` per `duration` seconds. */
  create(
    options: Required<
      Pick<IRateLimiterOptions, 'keyPrefix' | 'points' | 'duration'>
    >,
  ): RateLimiterAbstract {
    const inMemory = new RateLimiterMemory(options);
    if (this.redis === null) return inMemory;
    return new RateLimiterRedis({
      ...options,
      storeClient: this.redis,
      // While Redis is away each instance counts alone rather than letting
      // every login through or refusing them all; readiness reports the outage.
      rejectIfRedisNotReady: true,
      insuranceLimiter: inMemory,
    });
  }

  /** Counts one request of `clientIp` against the limit; over it, a 429. */
  async consume(name: RateLimitName, clientIp: string): Promise<void> {
    try {
      await this.perIp[name].consume(clientKeyOf(clientIp));
    } catch (rejection) {
      // The library rejects with its result when the limit is reached, with an Error when its store fails.
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      throw new TooManyRequestsException(
        PER_IP_LIMITS[name].refusal,
        rejection.msBeforeNext,
      );
    }
  }
}
