import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import type { AppConfig } from '../config/env.js';
import { UsersService } from '../users/users.service.js';
import type { AccessPrincipal, AccessTokenClaims } from './access-principal.js';
import { ACCESS_TOKEN_TYPE } from './access-token.service.js';
import { RevokedAccessToken } from './bearer-challenge.js';
import {
  SIGNING_ALGORITHM,
  SigningKeysService,
} from './keys/signing-keys.service.js';

/** Why a token's header was refused before its signature was checked. */
export class UnacceptableTokenHeader extends Error {}

/**
 * Verifies bearer access tokens: the algorithm is pinned (never read from
 * the token), the key is chosen by `kid` among this service's keys, and
 * `iss`, `aud` and `exp` are checked before the user is loaded.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    keys: SigningKeysService,
    private readonly users: UsersService,
    config: ConfigService<AppConfig, true>,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKeyProvider: (_request: unknown, rawToken: string, done) => {
        verificationKeyFor(keys, rawToken).then(
          // jsonwebtoken takes a KeyObject; the typings still say PEM string or Buffer.
          (key) => done(null, key as unknown as Buffer),
          (error: unknown) => done(error as Error),
        );
      },
      algorithms: [SIGNING_ALGORITHM],
      issuer: config.get('PUBLIC_URL', { infer: true }),
      audience: config.get('ACCESS_TOKEN_AUDIENCE', { infer: true }),
    });
  }

  /**
   * A signature only proves the token was issued; the user must still be
   * there, active, and not have ended their sessions since (API.md).
   */
  async validate(claims: Partial<AccessTokenClaims>): Promise<AccessPrincipal> {
    // jsonwebtoken checks `exp` only when present; RFC 9068 §2.2 requires it and `sub`.
    if (typeof claims.exp !== 'number' || typeof claims.sub !== 'string') {
      throw new RevokedAccessToken(
        'The access token lacks a required claim (exp, sub).',
      );
    }
    const user = await this.users.findById(claims.sub);
    if (user === null || !user.isActive) {
      throw new RevokedAccessToken(
        'The user of this access token is inactive or deleted.',
      );
    }
    if (isIssuedBefore(claims.iat, user.tokensValidAfter)) {
      throw new RevokedAccessToken('This access token was revoked.');
    }
    return {
      user,
      // RFC 9068 §2.2.3: `scope` may be absent; then the token grants nothing.
      scopes:
        typeof claims.scope === 'string'
          ? claims.scope.split(' ').filter(Boolean)
          : [],
      clientId: typeof claims.client_id === 'string' ? claims.client_id : '',
      tokenId: typeof claims.jti === 'string' ? claims.jti : '',
    };
  }
}

/**
 * `iat` counts whole seconds, so a token from the very second of the cut
 * may predate it and is refused as well: a login in that second must be
 * repeated, but no token from before the cut survives it.
 */
function isIssuedBefore(
  issuedAt: number | undefined,
  cut: Date | null,
): boolean {
  if (cut === null) return false;
  return issuedAt === undefined || issuedAt * 1000 < cut.getTime();
}

/**
 * RFC 9068 §4: a resource server checks `typ` so that another kind of JWT
 * signed by the same key (an ID token, say) is not taken for an access token.
 */
async function verificationKeyFor(keys: SigningKeysService, rawToken: string) {
  const header = decodeHeader(rawToken);
  const typ =
    typeof header?.typ === 'string' ? header.typ.toLowerCase() : undefined;
  if (typ !== ACCESS_TOKEN_TYPE && typ !== `application/${ACCESS_TOKEN_TYPE}`) {
    throw new UnacceptableTokenHeader(
      'The token is not an access token (typ must be at+jwt).',
    );
  }
  if (header?.alg !== SIGNING_ALGORITHM) {
    throw new UnacceptableTokenHeader(
      `The token must be signed with ${SIGNING_ALGORITHM}.`,
    );
  }
  const key =
    typeof header.kid === 'string'
      ? await keys.verificationKey(header.kid)
      : undefined;
  if (key === undefined) {
    throw new UnacceptableTokenHeader(
      'The token was not signed by a key of this service.',
    );
  }
  return key;
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
