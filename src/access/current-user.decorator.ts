import type { ExecutionContext } from '@nestjs/common';
import { createParamDecorator, ForbiddenException } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { AccessPrincipal, PrincipalUser } from './access-principal.js';

export type AuthenticatedRequest = FastifyRequest & { user: AccessPrincipal };

/** Who the access token of this request speaks for. */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AccessPrincipal =>
    context.switchToHttp().getRequest<AuthenticatedRequest>().user,
);

/**
 * The user whose access token authenticated this request: the users/
 * entity, which a route may declare its parameter as. A client's own token
 * (client_credentials) has no user: such a route answers 403.
 */
export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): PrincipalUser => {
    const { user } = context
      .switchToHttp()
      .getRequest<AuthenticatedRequest>().user;
    if (user === null) {
      throw new ForbiddenException(
        "This operation needs a user's access token, not a client's.",
      );
    }
    return user;
  },
);
