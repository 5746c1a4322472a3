import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import type { AccessPrincipal, AccessTokenClaims } from './access-principal.js';
import { AccessTokenVerification } from './access-token-verification.js';

/**
 * Verifies bearer access tokens for the guard: the algorithm is pinned
 * (never read from the token), the key is chosen by `kid` among this
 * service's keys, `iss`, `aud` and `exp` are checked, and then the
 * verifier decides whether the token still speaks for anyone.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(private readonly verifier: AccessTokenVerification) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKeyProvider: (_request: unknown, rawToken: string, done) => {
        verifier.verificationKeyFor(rawToken).then(
          // jsonwebtoken takes a KeyObject; the typings still say PEM string or Buffer.
          (key) => done(null, key as unknown as Buffer),
          (error: unknown) => done(error as Error),
        );
      },
      algorithms: [verifier.algorithm],
      issuer: verifier.issuer,
      audience: verifier.audience,
    });
  }

  validate(claims: Partial<AccessTokenClaims>): Promise<AccessPrincipal> {
    return this.verifier.principalFor(claims);
  }
}
