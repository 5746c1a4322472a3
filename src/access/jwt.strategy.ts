import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { ExtractJwt, Strategy } from 'passport-jwt';
import type { AccessPrincipal, AccessTokenClaims } from './access-principal.js';
import { AccessTokenVerification } from './access-token-verification.js';
import { RevokedAccessToken } from './bearer-challenge.js';
import { DpopProofVerification } from './dpop-proof-verification.js';

const bearerToken = ExtractJwt.fromAuthHeaderAsBearerToken();
/** RFC 9449 §7.1: `Authorization: DPoP <token>`. */
const dpopToken = ExtractJwt.fromAuthHeaderWithScheme('dpop');

/** passport-jwt's typings say Express; the extractor reads only the headers, which Fastify's request has too. */
type PassportRequest = Parameters<Strategy['authenticate']>[0];

/**
 * Verifies access tokens for the guard: the algorithm is pinned (never
 * read from the token), the key is chosen by `kid` among this service's
 * keys, `iss`, `aud` and `exp` are checked, a DPoP-bound token must come
 * with its proof, and then the verifier decides whether the token still
 * speaks for anyone.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    private readonly verifier: AccessTokenVerification,
    private readonly proofs: DpopProofVerification,
  ) {
    super({
      jwtFromRequest: (request: PassportRequest) =>
        bearerToken(request) ?? dpopToken(request),
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
   * check (the verifier's VerifiedTokenCache); its key, `exp`, its DPoP
   * proof and whom it speaks for are checked again, as passport-jwt would.
   */
  override authenticate(request: PassportRequest, options?: object): void {
    const bearer = bearerToken(request);
    const token = bearer ?? dpopToken(request);
    let claims: Partial<AccessTokenClaims> | undefined;
    try {
      claims =
        token === null ? undefined : this.verifier.previouslyVerified(token);
    } catch (error) {
      // As passport-jwt answers a refusal of secretOrKeyProvider.
      return this.fail(error, 401);
    }
    if (claims === undefined) return super.authenticate(request, options);
    this.principalOf(request, claims, bearer).then(
      (principal) => this.success(principal),
      (error: unknown) => this.error(error as Error),
    );
  }

  /** passport-jwt's callback, once jsonwebtoken has verified the token. */
  validate(
    request: PassportRequest,
    claims: Partial<AccessTokenClaims>,
  ): Promise<AccessPrincipal> {
    const bearer = bearerToken(request);
    const token = bearer ?? dpopToken(request);
    if (token !== null) this.verifier.rememberVerified(token, claims);
    return this.principalOf(request, claims, bearer);
  }

  /**
   * RFC 9449 §7.2: a DPoP-bound token sent as a bearer token is refused,
   * or stealing it would be enough. A bearer token sent under the DPoP
   * scheme is refused too (§7.1 leaves it open): it would gain nothing
   * from the proof, and a client that believes its token bound should
   * learn that it is not. A bearer token as a bearer token costs only the
   * look at `cnf`.
   */
  private principalOf(
    request: PassportRequest,
    claims: Partial<AccessTokenClaims>,
    bearer: string | null,
  ): Promise<AccessPrincipal> {
    const boundTo = claims.cnf?.jkt;
    if (bearer !== null) {
      return boundTo === undefined
        ? this.verifier.principalFor(claims)
        : Promise.reject(
            new RevokedAccessToken(
              'This access token is bound to a DPoP key: send it as Authorization: DPoP, with a DPoP proof.',
            ),
          );
    }
    return this.provenPrincipalOf(request, claims, boundTo);
  }

  private async provenPrincipalOf(
    request: PassportRequest,
    claims: Partial<AccessTokenClaims>,
    boundTo: string | undefined,
  ): Promise<AccessPrincipal> {
    if (typeof boundTo !== 'string') {
      throw new RevokedAccessToken(
        'This access token is not bound to a DPoP key: send it as Authorization: Bearer.',
      );
    }
    await this.proofs.verifyForResource(
      // Nest hands Passport the Fastify request itself.
      request as unknown as FastifyRequest,
      dpopToken(request)!,
      boundTo,
    );
    return this.verifier.principalFor(claims);
  }
}
