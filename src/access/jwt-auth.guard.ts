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
import { DpopChallenge } from './dpop-challenge.js';
import {
  DpopKeyMismatch,
  DpopProofRefused,
  DpopProofVerification,
} from './dpop-proof-verification.js';

/** RFC 9449 §7.1: the scheme of a request that sends a DPoP-bound token. */
const DPOP_SCHEME = /^dpop(?:\s|$)/i;

type GuardedRequest = FastifyRequest & { user?: AccessPrincipal };

/**
 * Registered globally: every route needs a valid access token unless it is
 * marked `@Public()`, and carries the scopes its `@Authenticated(...)` names.
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  private readonly challenge: BearerChallenge;
  private readonly dpopChallenge: DpopChallenge;

  constructor(
    private readonly reflector: Reflector,
    private readonly config: ConfigService<AppConfig, true>,
    proofs: DpopProofVerification,
  ) {
    super();
    const issuer = config.get('PUBLIC_URL', { infer: true });
    const metadataUrl = `${issuer}${PROTECTED_RESOURCE_METADATA_PATH}`;
    this.challenge = new BearerChallenge(issuer, metadataUrl);
    this.dpopChallenge = new DpopChallenge(
      issuer,
      metadataUrl,
      proofs.algorithms,
    );
  }

  /** The challenges of the scheme the request used: DPoP's for DPoP, Bearer's otherwise. */
  private challengeFor(
    request: GuardedRequest,
  ): BearerChallenge | DpopChallenge {
    return DPOP_SCHEME.test(request.headers.authorization ?? '')
      ? this.dpopChallenge
      : this.challenge;
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) {
      return true;
    }
    const request = context.switchToHttp().getRequest<GuardedRequest>();
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
      !/^(?:bearer|dpop) /i.test(request.headers.authorization ?? '')
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
      throw this.challengeFor(request).insufficientScope(required);
    }
    return true;
  }

  override handleRequest<TUser = AccessPrincipal>(
    error: unknown,
    principal: TUser | false,
    info: unknown,
    context: ExecutionContext,
  ): TUser {
    if (principal) return principal;
    const reason = error ?? info;
    if (reason instanceof HttpException) throw reason;
    const challenge = this.challengeFor(
      context.switchToHttp().getRequest<GuardedRequest>(),
    );
    if (reason instanceof DpopProofRefused) {
      throw this.dpopChallenge.invalidProof(reason.message);
    }
    if (
      reason instanceof RevokedAccessToken ||
      reason instanceof UnacceptableTokenHeader ||
      reason instanceof DpopKeyMismatch
    ) {
      throw challenge.invalidToken(reason.message);
    }
    if (reason instanceof TokenExpiredError) {
      throw challenge.invalidToken('The access token expired.');
    }
    if (reason instanceof NotBeforeError) {
      throw challenge.invalidToken('The access token is not valid yet.');
    }
    if (reason instanceof JsonWebTokenError) {
      throw challenge.invalidToken(describeJwtError(reason));
    }
    if (reason instanceof Error && reason.message === 'No auth token') {
      throw challenge.missingToken();
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
