import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { RateLimitGuard } from './rate-limit.guard.js';
import { RateLimiters } from './rate-limiters.service.js';

/**
 * Per-IP limits on the routes marked `@RateLimit()`, and the counters the
 * login back-off keeps. Global: every feature may mark its routes.
 */
@Global()
@Module({
  providers: [RateLimiters, { provide: APP_GUARD, useClass: RateLimitGuard }],
  exports: [RateLimiters],
})
export class RateLimitingModule {}
