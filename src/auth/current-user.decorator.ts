import type { ExecutionContext } from '@nestjs/common';
import { createParamDecorator } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { User } from '../users/user.entity.js';
import type { AccessPrincipal } from './access-principal.js';

/** The user whose access token authenticated this request. */
export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): User =>
    context
      .switchToHttp()
      .getRequest<FastifyRequest & { user: AccessPrincipal }>().user.user,
);
