import { Injectable } from '@nestjs/common';
import type { ActorClaim } from '../access/access-principal.js';
import type { Actor } from '../access/actor.js';
import { narrowScopes } from '../access/scopes.js';
import { SecurityEvents } from '../audit/security-events.service.js';
import { TOKEN_EXCHANGE_GRANT_TYPE } from '../clients/client.entity.js';
import { AccessTokenService } from './access-token.service.js';
import { AccessTokenVerifier } from './access-token-verifier.service.js';
import type { AuthenticatedClient } from './client-authenticator.service.js';
import { ClientAuthenticator } from './client-authenticator.service.js';
import {
  InvalidRequest,
  InvalidScope,
  InvalidTarget,
} from './protocol/oauth.errors.js';
import type { TokenRequest } from './protocol/token-request.js';
import type { TokenResponseDto } from './protocol/token-response.dto.js';
import type { Role } from '../users/user.entity.js';
import { TokenAudiences } from './token-audiences.service.js';
import {
  confirmationBy,
  grantScopes,
  userScopesAt,
  requireGrantType,
  tokenTypeFor,
} from './token-grants.service.js';
import type { VerifiedDpopProof } from '../access/dpop-proof-verification.js';

/** RFC 8693 §3: the one token type this service takes and issues. */
export const ACCESS_TOKEN_TYPE_URI =
  'urn:ietf:params:oauth:token-type:access_token';

/**
 * How many clients may stand between the user and the API. A chain longer
 * than this is more likely a loop between services than a design.
 */
export const MAX_CALL_CHAIN = 5;

/**
 * RFC 8693 token exchange, for call chains: a service that received a
 * user's access token gets one for the API it calls next, on the user's
 * behalf. What the downstream API lets the client do decides everything:
 * which audiences' tokens it may exchange (`exchangeFrom`), which scopes it
 * may carry there, and whether the new token names the client as the actor
 * (delegation, the default) or not (impersonation).
 *
 * Written here rather than taken from a library: no maintained Node.js
 * library implements the server side of RFC 8693 for tokens of this
 * service's own format; the JWTs themselves are signed and verified by the
 * same code as every other token.
 */
@Injectable()
export class TokenExchange {
  constructor(
    private readonly verifier: AccessTokenVerifier,
    private readonly audiences: TokenAudiences,
    private readonly accessTokens: AccessTokenService,
    private readonly clients: ClientAuthenticator,
    private readonly events: SecurityEvents,
  ) {}

  async exchange(
    client: AuthenticatedClient,
    form: TokenRequest,
    actor: Actor,
    dpop?: VerifiedDpopProof,
  ): Promise<TokenResponseDto> {
    this.clients.requireConfidential(client, 'Token exchange');
    requireGrantType(client, TOKEN_EXCHANGE_GRANT_TYPE);
    checkTokenTypes(form);

    const named = [...form.resource, ...form.audience];
    if (named.length === 0) {
      throw new InvalidRequest(
        'Name the API the new token is for, with resource or audience.',
      );
    }
    const target = await this.audiences.target(named, client);
    const { audience, allowance } = target;
    if (audience.resourceServer === null || allowance === null) {
      throw new InvalidTarget(
        'Tokens are exchanged for a registered API, not for this service.',
      );
    }
    if (allowance.exchangeFrom.length === 0) {
      throw new InvalidTarget(
        'This API does not let this client exchange tokens for its own.',
      );
    }

    if (form.actor_token !== undefined) {
      const acting = await this.verifier.verify(
        form.actor_token,
        client.client,
      );
      if (acting?.client?.id !== client.clientId) {
        throw new InvalidRequest(
          'actor_token must be an active access token of the client making this request.',
        );
      }
    }

    // RFC 8693 §2.2.2: a subject token that is invalid, or unacceptable by policy, is invalid_request.
    const subject = await this.verifier.verify(form.subject_token!);
    if (subject === null) {
      throw new InvalidRequest(
        'The subject_token is not an active access token of this service.',
      );
    }
    if (subject.user === null || subject.sessionId === null) {
      throw new InvalidRequest(
        "The subject_token must be a user's access token, not a client's own.",
      );
    }
    if (!allowance.exchangeFrom.includes(subject.claims.aud)) {
      throw new InvalidRequest(
        "This API does not let this client exchange tokens of the subject_token's audience.",
      );
    }
    const before = subject.claims.act;
    if (chainLength(before) >= MAX_CALL_CHAIN) {
      throw new InvalidRequest(
        `The subject_token has passed through ${MAX_CALL_CHAIN} clients already; the call chain may not grow longer.`,
      );
    }

    // No wider than the subject token, than the user's roles there, nor than the API lets the client have.
    const allowed = narrowScopes(
      subject.scopes,
      // The principal's user is the users/ entity, its roles checked when stored.
      userScopesAt(target, subject.user.roles as readonly Role[]),
    );
    if (form.scope === undefined && allowed.length === 0) {
      throw new InvalidScope(
        'The subject_token carries none of the scopes this client may have at this API.',
      );
    }
    const scopes = grantScopes(form.scope, allowed, audience);

    const act: ActorClaim | undefined = allowance.impersonation
      ? before
      : {
          sub: client.clientId,
          ...(before === undefined ? {} : { act: before }),
        };
    const { token, expiresIn } = await this.accessTokens.issue({
      subject: subject.user.id,
      clientId: client.clientId,
      scopes,
      // The subject's session: ending it (logout, revocation) ends this token too.
      sessionId: subject.sessionId,
      audience: audience.identifier,
      actor: act,
      notAfter: subject.claims.exp,
      // RFC 9449 §5: with a proof, the client's new token is bound to the client's key.
      ...confirmationBy(dpop),
    });
    await this.events.record(
      {
        type: 'token.exchanged',
        user: subject.user,
        clientId: client.clientId,
        details: {
          sessionId: subject.sessionId,
          from: subject.claims.aud,
          resource: audience.identifier,
          scope: scopes.join(' '),
          mode: allowance.impersonation ? 'impersonation' : 'delegation',
          actors: actorsOf(act),
        },
      },
      actor,
    );
    this.events.tokenIssued('token_exchange');
    return {
      access_token: token,
      issued_token_type: ACCESS_TOKEN_TYPE_URI,
      token_type: tokenTypeFor(dpop),
      expires_in: expiresIn,
      scope: scopes.join(' '),
    };
  }
}

/** RFC 8693 §2.1: the tokens' types, which this service reads as its own access tokens only. */
function checkTokenTypes(form: TokenRequest): void {
  if (form.subject_token === undefined || form.subject_token_type === undefined)
    throw new InvalidRequest(
      'A token exchange needs subject_token and subject_token_type.',
    );
  if (form.subject_token_type !== ACCESS_TOKEN_TYPE_URI)
    throw new InvalidRequest(
      `subject_token_type must be ${ACCESS_TOKEN_TYPE_URI}: only this service's access tokens are exchanged.`,
    );
  if (
    (form.actor_token === undefined) !==
    (form.actor_token_type === undefined)
  )
    throw new InvalidRequest(
      'actor_token and actor_token_type go together (RFC 8693 section 2.1).',
    );
  if (
    form.actor_token_type !== undefined &&
    form.actor_token_type !== ACCESS_TOKEN_TYPE_URI
  )
    throw new InvalidRequest(
      `actor_token_type must be ${ACCESS_TOKEN_TYPE_URI}.`,
    );
  if (
    form.requested_token_type !== undefined &&
    form.requested_token_type !== ACCESS_TOKEN_TYPE_URI
  )
    throw new InvalidRequest(
      `requested_token_type must be ${ACCESS_TOKEN_TYPE_URI}: this service issues access tokens only.`,
    );
}

function chainLength(act: ActorClaim | undefined): number {
  let length = 0;
  for (let at = act; at !== undefined; at = at.act) length++;
  return length;
}

/** The actors of a chain, the current one first. */
function actorsOf(act: ActorClaim | undefined): string[] {
  const actors: string[] = [];
  for (let at = act; at !== undefined; at = at.act) actors.push(at.sub);
  return actors;
}
