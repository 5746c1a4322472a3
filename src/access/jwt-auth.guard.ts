import type { ExecutionContext } from '@nestjs/common';
import { HttpException, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import {
  JsonWebTokenError,
  NotBeforeError,
  TokenExpiredError,
} from '@nestjs/jwt';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import type { AppConfig } from '../config/env.js';
import type { AccessPrincipal } from './access-principal.js';
import type { AuthenticationCondition } from './auth.decorators.js';
import {
  AUTHENTICATED_WHEN,
  AUTHENTICATION_OPTIONAL,
  IS_PUBLIC,
  REQUIRED_SCOPES,
} from './auth.decorators.js';
import {
  BearerChallenge,
  PROTECTED_RESOURCE_METADATA_PATH,
  RevokedAccessToken,
} from './bearer-challenge.js';
import { UnacceptableTokenHeader } from './access-token-verification.js';

/**
 * Registered globally: every route needs a valid access token unless it is
 * marked `@Public()`, and carries the scopes its `@Authenticated(...)` names.
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  private readonly challenge: BearerChallenge;

  constructor(
    private readonly reflector: Reflector,
    private readonly config: ConfigService<AppConfig, true>,
  ) {
    super();
    const issuer = config.get('PUBLIC_URL', { infer: true });
    this.challenge = new BearerChallenge(
      issuer,
      `${issuer}${PROTECTED_RESOURCE_METADATA_PATH}`,
    );
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) {
      return true;
    }
    const request = context
      .switchToHttp()
      .getRequest<FastifyRequest & { user?: AccessPrincipal }>();
    // A route whose need for a token is configuration (@AuthenticatedWhen): its scopes, when it needs one now.
    const condition = this.reflector.getAllAndOverride<
      AuthenticationCondition | undefined
    >(AUTHENTICATED_WHEN, targets);
    const conditionalScopes = condition?.when(this.config)
      ? condition.scopes
      : undefined;
    if (
      conditionalScopes === undefined &&
      this.reflector.getAllAndOverride<boolean>(
        AUTHENTICATION_OPTIONAL,
        targets,
      ) &&
      !/^bearer /i.test(request.headers.authorization ?? '')
    ) {
      return true;
    }
    await super.canActivate(context);

    const required =
      conditionalScopes ??
      this.reflector.getAllAndOverride<string[]>(REQUIRED_SCOPES, targets) ??
      [];
    const scopes = request.user?.scopes ?? [];
    if (!required.every((scope) => scopes.includes(scope))) {
      throw this.challenge.insufficientScope(required);
    }
    return true;
  }

  override handleRequest<TUser = AccessPrincipal>(
    error: unknown,
    principal: TUser | false,
    info: unknown,
  ): TUser {
    if (principal) return principal;
    const reason = error ?? info;
    if (reason instanceof HttpException) throw reason;
    if (
      reason instanceof RevokedAccessToken ||
      reason instanceof UnacceptableTokenHeader
    ) {
      throw this.challenge.invalidToken(reason.message);
    }
    if (reason instanceof TokenExpiredError) {
      throw this.challenge.invalidToken('The access token expired.');
    }
    if (reason instanceof NotBeforeError) {
      throw this.challenge.invalidToken('The access token is not valid yet.');
    }
    if (reason instanceof JsonWebTokenError) {
      throw this.challenge.invalidToken(describeJwtError(reason));
    }
    if (reason instanceof Error && reason.message === 'No auth token') {
      throw this.challenge.missingToken();
    }
    // Anything else (the database failing) is the server's fault, not the token's.
    throw reason instanceof Error ? reason : new Error(String(reason));
  }
}

function describeJwtError(error: JsonWebTokenError): string {
  if (error.message.startsWith('jwt audience invalid')) {
    return 'The access token is for another audience.';
  }
  if (error.message.startsWith('jwt issuer invalid')) {
    return 'The access token was issued by another issuer.';
  }
  if (error.message === 'invalid signature')
    return 'The access token signature is invalid.';
  return 'The access token is malformed.';
}
