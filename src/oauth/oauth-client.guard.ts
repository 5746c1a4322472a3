import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { VerifiedDpopProof } from '../access/dpop-proof-verification.js';
import type { User } from '../users/user.entity.js';
import type { LoginDevice } from '../users/credentials/login-device.entity.js';
import type { AuthenticatedClient } from './client-authenticator.service.js';
import { ClientAuthenticator } from './client-authenticator.service.js';
import type { TokenRequest } from './protocol/token-request.js';
import type { TokenTarget } from './token-audiences.service.js';
import { readTokenRequest } from './protocol/token-request.js';

export interface OAuthRequest extends FastifyRequest {
  oauthForm: TokenRequest;
  oauthClient: AuthenticatedClient;
  /** The resource owner, set by PasswordGrantGuard for the password grant only. */
  user?: User;
  /** The device the password grant came from, if it logged in to that account before. */
  loginDevice?: LoginDevice | null;
  /** The password grant's audience (RFC 8707 `resource`), set by PasswordGrantGuard. */
  tokenTarget?: TokenTarget;
  /** The key of the request's DPoP proof, set by DpopProofGuard at the token endpoint when one came. */
  dpop?: VerifiedDpopProof;
}

/**
 * The first steps of every OAuth endpoint, in the RFC's order: the form
 * (RFC 6749 §3.2), then the client (§2.3). Guards run before pipes, so
 * failures here are RFC 6749 errors, not a validation problem.
 */
@Injectable()
export class OAuthClientGuard implements CanActivate {
  constructor(private readonly clients: ClientAuthenticator) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<OAuthRequest>();
    request.oauthForm = readTokenRequest(request);
    request.oauthClient = await this.clients.authenticate(
      request,
      request.oauthForm,
    );
    return true;
  }
}
