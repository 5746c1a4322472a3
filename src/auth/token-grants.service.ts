import { Injectable } from '@nestjs/common';
import type { User } from '../users/user.entity.js';
import { AccessTokenService } from './access-token.service.js';
import type { AuthenticatedClient } from './client-authenticator.service.js';
import { InvalidScope } from './oauth/oauth.errors.js';
import type { TokenResponseDto } from './oauth/token-response.dto.js';
import { isScope, parseScope, scopesForRoles } from './scopes.js';

/** What each grant type issues, once the token request is authenticated. */
@Injectable()
export class TokenGrantsService {
  constructor(private readonly accessTokens: AccessTokenService) {}

  /** RFC 6749 §4.3: the resource owner's own credentials. */
  async passwordGrant(
    user: User,
    client: AuthenticatedClient,
    requestedScope: string | undefined,
  ): Promise<TokenResponseDto> {
    const scopes = grantScopes(requestedScope, scopesForRoles(user.roles));
    const { token, expiresIn } = await this.accessTokens.issue({
      subject: user.id,
      clientId: client.clientId,
      scopes,
    });
    return {
      access_token: token,
      token_type: 'Bearer',
      expires_in: expiresIn,
      scope: scopes.join(' '),
    };
  }
}

/**
 * RFC 6749 §3.3: with no `scope`, everything the caller may have; otherwise
 * exactly what was asked, each scope known and allowed.
 */
function grantScopes(
  requested: string | undefined,
  allowed: readonly string[],
): string[] {
  if (requested === undefined) return [...allowed];
  const scopes = parseScope(requested);
  if (scopes === null || scopes.length === 0) {
    throw new InvalidScope('The scope parameter is malformed.');
  }
  const unknown = scopes.filter((scope) => !isScope(scope));
  if (unknown.length > 0)
    throw new InvalidScope(`Unknown scope: ${unknown.join(' ')}.`);
  const refused = scopes.filter((scope) => !allowed.includes(scope));
  if (refused.length > 0)
    throw new InvalidScope(`Scope not allowed: ${refused.join(' ')}.`);
  return scopes;
}
