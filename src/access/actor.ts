import type { ExecutionContext } from '@nestjs/common';
import { createParamDecorator } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { AccessPrincipal } from './access-principal.js';

/**
 * Who caused an event and from where. `request.ip` is the client's address
 * as Fastify's `trustProxy` decides it; X-Forwarded-For is never read here.
 */
export interface Actor {
  /** The user or client whose access token made the request; absent at the token endpoint. */
  id?: string;
  ipAddress?: string;
  userAgent?: string;
}

/** The origin of a request, before anyone is authenticated. */
export function requestOrigin(request: FastifyRequest): Actor {
  return {
    ipAddress: request.ip,
    userAgent: request.headers['user-agent'],
  };
}

/** The request's origin and the user or client of its access token, if it has one. */
export const CurrentActor = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Actor => {
    const request = context
      .switchToHttp()
      .getRequest<FastifyRequest & { user?: AccessPrincipal }>();
    const principal = request.user;
    return {
      ...requestOrigin(request),
      id: principal?.user?.id ?? principal?.clientId,
    };
  },
);
