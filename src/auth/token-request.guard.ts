import type { ExecutionContext } from '@nestjs/common';
import { Injectable } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import type { User } from '../users/user.entity.js';
import type { AuthenticatedClient } from './client-authenticator.service.js';
import { ClientAuthenticator } from './client-authenticator.service.js';
import { InvalidGrant, InvalidRequest } from './oauth/oauth.errors.js';
import type { TokenRequest } from './oauth/token-request.js';
import { readTokenRequest } from './oauth/token-request.js';

export interface TokenEndpointRequest extends FastifyRequest {
  tokenRequest: TokenRequest;
  oauthClient: AuthenticatedClient;
  /** The resource owner, set for the password grant only. */
  user?: User;
}

/**
 * The authentication steps of the token endpoint, in the RFC's order: the
 * request's form, then the client (§2.3), then, for the password grant
 * only, the resource owner through Passport's local strategy (§4.3.2).
 * Guards run before pipes, so every failure here is turned into an RFC
 * 6749 error rather than Passport's bare 401.
 */
@Injectable()
export class TokenRequestGuard extends AuthGuard('local') {
  constructor(private readonly clients: ClientAuthenticator) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<TokenEndpointRequest>();
    request.tokenRequest = readTokenRequest(request);
    request.oauthClient = this.clients.authenticate(
      request,
      request.tokenRequest,
    );
    if (request.tokenRequest.grant_type !== 'password') return true;
    return (await super.canActivate(context)) as boolean;
  }

  override handleRequest<TUser = User>(
    error: Error | null,
    user: TUser | false | null,
    info: { message?: string } | undefined,
  ): TUser {
    if (error) throw error;
    if (user) return user;
    if (info?.message === 'Missing credentials') {
      throw new InvalidRequest(
        'The password grant needs username and password.',
      );
    }
    throw new InvalidGrant(
      'The username or password is wrong, or the account is inactive.',
    );
  }
}
