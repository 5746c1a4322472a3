import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { KeyObject } from 'node:crypto';
import type { Client } from '../clients/client.entity.js';
import { ClientsService } from '../clients/clients.service.js';
import type { AppConfig } from '../config/env.js';
import { databaseUnavailableCause } from '../database/unavailable.js';
import type {
  AccessPrincipal,
  AccessTokenClaims,
} from '../access/access-principal.js';
import { ACCESS_TOKEN_TYPE } from './access-token.service.js';
import {
  AccessTokenVerification,
  UnacceptableTokenHeader,
} from '../access/access-token-verification.js';
import { RevokedAccessToken } from '../access/bearer-challenge.js';
import { SIGNING_ALGORITHM } from './keys/key-material.js';
import { CLOCK_SKEW_MS } from './keys/key-ring.js';
import { SigningKeysService } from './keys/signing-keys.service.js';
import { narrowScopes } from '../access/scopes.js';
import { PUBLIC_CLIENT_ID } from './client-authenticator.service.js';
import { TokenHolderLookup } from './token-holder-lookup.js';
import { VerifiedTokenCache } from './verified-token-cache.js';
import { isActiveSession } from '../sessions/sessions.service.js';
import type { TokenAudience } from './token-audiences.service.js';
import { TokenAudiences } from './token-audiences.service.js';

/**
 * Everything that makes an access token valid now, shared by the bearer
 * guard (through passport-jwt) and by introspection: the algorithm pinned
 * to the key chosen by `kid`, `typ`, `iss`, `aud`, `exp`, and then whether
 * the user, session or client it speaks for still stands. The guard takes
 * only tokens for this service; introspection also those for a registered
 * API (RFC 8707), which are inactive once the API is deleted.
 */
@Injectable()
export class AccessTokenVerifier extends AccessTokenVerification {
  readonly issuer: string;
  readonly audience: string;
  readonly algorithm = SIGNING_ALGORITHM;
  private readonly holders: TokenHolderLookup;
  private readonly verified: VerifiedTokenCache;

  constructor(
    private readonly keys: SigningKeysService,
    private readonly jwt: JwtService,
    private readonly clients: ClientsService,
    private readonly audiences: TokenAudiences,
    config: ConfigService<AppConfig, true>,
    @InjectDataSource() dataSource: DataSource,
  ) {
    super();
    this.holders = new TokenHolderLookup(dataSource);
    this.verified = new VerifiedTokenCache(
      config.get('ACCESS_TOKEN_CACHE_SIZE', { infer: true }),
    );
    this.issuer = config.get('PUBLIC_URL', { infer: true });
    this.audience = config.get('ACCESS_TOKEN_AUDIENCE', { infer: true });
  }

  /**
   * The principal of a token that is valid now, or null: what introspection
   * needs. `presenter` is the client the request authenticated, its row read
   * from the database for this request: when the token is that client's own,
   * the row stands for it instead of the same row read a second time.
   */
  async verify(
    token: string,
    presenter?: Client,
  ): Promise<AccessPrincipal | null> {
    try {
      const claims =
        this.previouslyVerified(token) ??
        (await this.checkSignature(
          token,
          await this.verificationKeyFor(token),
        ));
      if (claims.aud === this.audience)
        return await this.principalFor(claims, presenter);
      const api =
        typeof claims.aud === 'string'
          ? await this.audiences.ofResource(claims.aud)
          : null;
      return api === null
        ? null
        : await this.principalAt(api, claims, presenter);
    } catch (error) {
      // A database failure is no answer about the token: a pool that hands
      // out no connection rejects with a bare Error, not a QueryFailedError.
      if (
        error instanceof Error &&
        error.name !== 'QueryFailedError' &&
        databaseUnavailableCause(error) === undefined
      )
        return null;
      throw error;
    }
  }

  previouslyVerified(rawToken: string): Partial<AccessTokenClaims> | undefined {
    const verified = this.verified.get(rawToken);
    if (verified === undefined) return undefined;
    // The same text has the same header: only whether its key stands can have changed.
    if (!this.keys.isLive(verified.kid)) {
      throw new UnacceptableTokenHeader(NOT_OUR_KEY);
    }
    return verified.claims;
  }

  rememberVerified(rawToken: string, claims: Partial<AccessTokenClaims>): void {
    const kid = decodeHeader(rawToken)?.kid;
    if (typeof kid === 'string') this.verified.remember(rawToken, claims, kid);
  }

  /**
   * The same checks as the bearer guard's passport-jwt (jsonwebtoken, the
   * algorithm pinned), but for any audience: `aud` is the caller's to check.
   */
  private async checkSignature(
    token: string,
    publicKey: KeyObject,
  ): Promise<Partial<AccessTokenClaims>> {
    const claims = await this.jwt.verifyAsync<Partial<AccessTokenClaims>>(
      token,
      {
        // jsonwebtoken takes a KeyObject; the typings still say PEM string or Buffer.
        publicKey: publicKey as unknown as Buffer,
        algorithms: [SIGNING_ALGORITHM],
        issuer: this.issuer,
      },
    );
    this.rememberVerified(token, claims);
    return claims;
  }

  /**
   * RFC 9068 §4: a resource server checks `typ` so that another kind of JWT
   * signed by the same key (an ID token, say) is not taken for an access token.
   */
  async verificationKeyFor(rawToken: string): Promise<KeyObject> {
    const header = decodeHeader(rawToken);
    const typ =
      typeof header?.typ === 'string' ? header.typ.toLowerCase() : undefined;
    if (
      typ !== ACCESS_TOKEN_TYPE &&
      typ !== `application/${ACCESS_TOKEN_TYPE}`
    ) {
      throw new UnacceptableTokenHeader(
        'The token is not an access token (typ must be at+jwt).',
      );
    }
    // RFC 7515 §4.1.11: a JWS whose `crit` names an extension the verifier
    // does not understand MUST be refused; this service understands none,
    // and jsonwebtoken does not look at `crit` at all.
    if (header?.crit !== undefined) {
      throw new UnacceptableTokenHeader(
        'The token names critical header extensions this service does not support.',
      );
    }
    if (header?.alg !== SIGNING_ALGORITHM) {
      throw new UnacceptableTokenHeader(
        `The token must be signed with ${SIGNING_ALGORITHM}.`,
      );
    }
    const key =
      typeof header.kid === 'string'
        ? await this.keys.verificationKey(header.kid)
        : undefined;
    if (key === undefined) {
      throw new UnacceptableTokenHeader(NOT_OUR_KEY);
    }
    return key;
  }

  /**
   * A signature only proves the token was issued. A user's token also needs
   * the user active, its session not ended and no cut since it was issued;
   * a client's own token needs the client still registered. Scopes are cut
   * to what the holder may have today, so a demoted admin loses them at once.
   *
   * @param presenter a client whose row this request has just read (the one
   * introspecting): when the token is its own, that row stands for it.
   */
  async principalFor(
    claims: Partial<AccessTokenClaims>,
    presenter?: Client,
  ): Promise<AccessPrincipal> {
    // passport-jwt checked `aud`, but not for a token whose signature was checked before,
    // perhaps by introspection, which takes the tokens of every registered API.
    if (claims.aud !== this.audience) {
      throw new RevokedAccessToken(
        'The access token is for another audience (RFC 8707: a token for one API is refused by the others).',
      );
    }
    return this.principalAt(this.audiences.own, claims, presenter);
  }

  /** principalFor at `audience`, whose scopes the holder may still have. */
  private async principalAt(
    audience: TokenAudience,
    claims: Partial<AccessTokenClaims>,
    presenter?: Client,
  ): Promise<AccessPrincipal> {
    // jsonwebtoken checks `exp` only when present; RFC 9068 §2.2 requires it, `sub` and `iat`.
    if (
      typeof claims.exp !== 'number' ||
      typeof claims.sub !== 'string' ||
      typeof claims.iat !== 'number'
    ) {
      throw new RevokedAccessToken(
        'The access token lacks a required claim (exp, sub, iat).',
      );
    }
    // jsonwebtoken never looks at `iat`. One from the future would outlive
    // the tokensValidAfter cut that a password change makes, so it is refused.
    if (claims.iat * 1000 > Date.now() + CLOCK_SKEW_MS) {
      throw new RevokedAccessToken(
        'The access token was issued in the future.',
      );
    }
    const tokenScopes =
      typeof claims.scope === 'string'
        ? claims.scope.split(' ').filter(Boolean)
        : [];
    const clientId =
      typeof claims.client_id === 'string' ? claims.client_id : '';
    const fullClaims = claims as AccessTokenClaims;

    if (typeof claims.sid !== 'string') {
      const client =
        clientId !== claims.sub
          ? null
          : presenter?.id === clientId
            ? presenter
            : await this.clients.findById(clientId);
      if (client === null)
        throw new RevokedAccessToken(
          'The client of this access token is gone.',
        );
      return {
        user: null,
        client,
        clientId,
        scopes: narrowScopes(
          tokenScopes,
          await this.clientScopesAt(audience, client),
        ),
        sessionId: null,
        exchanged: false,
        claims: fullClaims,
      };
    }

    const { user, session } = await this.holders.find(claims.sub, claims.sid);
    if (user === null || !user.isActive) {
      throw new RevokedAccessToken(
        'The user of this access token is inactive or deleted.',
      );
    }
    if (
      session === null ||
      session.userId !== user.id ||
      !isActiveSession(session) ||
      isIssuedBefore(claims.iat, user.tokensValidAfter)
    ) {
      throw new RevokedAccessToken('This access token was revoked.');
    }
    // RFC 8693: a token a client got by exchanging the user's is that client's, in the user's session.
    const exchanged = claims.act !== undefined || clientId !== session.clientId;
    const clientScopes = await this.userClientScopesAt(
      audience,
      clientId,
      exchanged,
      presenter,
    );
    const scopes = narrowScopes(
      tokenScopes,
      audience.scopesForRoles(user.roles),
    );
    return {
      user,
      client: null,
      clientId,
      scopes:
        clientScopes === undefined
          ? scopes
          : narrowScopes(scopes, clientScopes),
      sessionId: session.id,
      exchanged,
      claims: fullClaims,
    };
  }

  /**
   * What a user's token may still carry for its client: at an API, what the
   * API lets a registered client have today (none once it lets the client
   * out, or, for an exchanged token, stops letting it exchange); at this
   * service, an exchanged token's client must still be registered. Undefined
   * when the client does not limit the token: a login's own token at this
   * service (the bearer path of /users/me, which reads nothing more), or the
   * unregistered public client's.
   */
  private async userClientScopesAt(
    audience: TokenAudience,
    clientId: string,
    exchanged: boolean,
    presenter: Client | undefined,
  ): Promise<readonly string[] | undefined> {
    if (audience.resourceServer === null) {
      if (!exchanged) return undefined;
      const client =
        presenter?.id === clientId
          ? presenter
          : await this.clients.findById(clientId);
      if (client === null)
        throw new RevokedAccessToken(
          'The client of this access token is gone.',
        );
      return undefined;
    }
    if (clientId === PUBLIC_CLIENT_ID && !exchanged) return undefined;
    const allowance = await this.audiences.allowanceOf(audience, clientId);
    if (allowance === null)
      throw new RevokedAccessToken('The API no longer lets this client in.');
    if (exchanged && allowance.exchangeFrom.length === 0)
      throw new RevokedAccessToken(
        'The API no longer lets this client exchange tokens for its own.',
      );
    return allowance.scopes;
  }

  /** What a client may still have at the audience: its registration here, or what the API lets it have. */
  private async clientScopesAt(
    audience: TokenAudience,
    client: Client,
  ): Promise<readonly string[]> {
    if (audience.resourceServer === null) return client.allowedScopes;
    const allowance = await this.audiences.allowanceOf(audience, client.id);
    if (allowance === null)
      throw new RevokedAccessToken('The API no longer lets this client in.');
    return allowance.scopes;
  }
}

const NOT_OUR_KEY = 'The token was not signed by a key of this service.';

/**
 * `iat` counts whole seconds, so the cut is compared to the second: a
 * login right after a password change works at once. A token from before
 * the cut but in its second passes this check, and is refused anyway: the
 * change ended its session.
 */
function isIssuedBefore(issuedAt: number, cut: Date | null): boolean {
  return cut !== null && issuedAt < Math.floor(cut.getTime() / 1000);
}

function decodeHeader(rawToken: string): Record<string, unknown> | undefined {
  try {
    const [encoded] = rawToken.split('.', 1);
    const header: unknown = JSON.parse(
      Buffer.from(encoded, 'base64url').toString('utf8'),
    );
    return typeof header === 'object' && header !== null
      ? (header as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
