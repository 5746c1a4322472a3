import { SetMetadata } from '@nestjs/common';
import type { RateLimitName } from './rate-limiters.service.js';

export const RATE_LIMIT_KEY = 'rateLimit';

/** Counts each request to the route against the client IP's limit `name`. */
export const RateLimit = (name: RateLimitName) =>
  SetMetadata(RATE_LIMIT_KEY, name);
