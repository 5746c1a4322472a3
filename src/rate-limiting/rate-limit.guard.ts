import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { RATE_LIMIT_KEY } from './rate-limit.decorator.js';
import type { RateLimitName } from './rate-limiters.service.js';
import { RateLimiters } from './rate-limiters.service.js';

/**
 * A global guard, so it runs before the route's own guards: a request over
 * its limit is refused before any password is hashed.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly limiters: RateLimiters,
  ) {}

  /** Synchronous for the routes without a limit: most requests, each saved a promise. */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const name = this.reflector.get<RateLimitName | undefined>(
      RATE_LIMIT_KEY,
      context.getHandler(),
    );
    if (name === undefined) return true;
    // Fastify's `ip`: the socket's address, or X-Forwarded-For's as TRUST_PROXY allows.
    const { ip } = context.switchToHttp().getRequest<FastifyRequest>();
    return this.limiters.consume(name, ip).then(() => true);
  }
}
