import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import type { AccessPrincipal, AccessTokenClaims } from './access-principal.js';
import { AccessTokenVerification } from './access-token-verification.js';

const bearerToken = ExtractJwt.fromAuthHeaderAsBearerToken();

/** passport-jwt's typings say Express; the extractor reads only the headers, which Fastify's request has too. */
type PassportRequest = Parameters<Strategy['authenticate']>[0];

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
      jwtFromRequest: bearerToken,
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
      passReqToCallback: true,
    });
  }

  /**
   * A token whose signature this instance checked before skips only that
   * check (the verifier's VerifiedTokenCache); its key, `exp` and whom it
   * speaks for are checked again, as passport-jwt would.
   */
  override authenticate(request: PassportRequest, options?: object): void {
    const token = bearerToken(request);
    let claims: Partial<AccessTokenClaims> | undefined;
    try {
      claims =
        token === null ? undefined : this.verifier.previouslyVerified(token);
    } catch (error) {
      // As passport-jwt answers a refusal of secretOrKeyProvider.
      return this.fail(error, 401);
    }
    if (claims === undefined) return super.authenticate(request, options);
    this.verifier.principalFor(claims).then(
      (principal) => this.success(principal),
      (error: unknown) => this.error(error as Error),
    );
  }

  /** passport-jwt's callback, once jsonwebtoken has verified the token. */
  validate(
    request: PassportRequest,
    claims: Partial<AccessTokenClaims>,
  ): Promise<AccessPrincipal> {
    const token = bearerToken(request);
    if (token !== null) this.verifier.rememberVerified(token, claims);
    return this.verifier.principalFor(claims);
  }
}
