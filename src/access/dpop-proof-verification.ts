import type { FastifyRequest } from 'fastify';

/** RFC 9449 §4.3: why a DPoP proof was refused; the message is for the client. */
export class DpopProofRefused extends Error {}

/**
 * RFC 9449 §4.3 check 12 failed: the proof is sound but made with another
 * key than the one the access token is bound to (`cnf.jkt`). §7.1 answers
 * it as `invalid_token`: the token is of no use to this sender.
 */
export class DpopKeyMismatch extends Error {}

/** What a checked proof tells: the RFC 7638 SHA-256 thumbprint of its key. */
export interface VerifiedDpopProof {
  jkt: string;
}

/**
 * What the guard needs of the authorization server to check the DPoP
 * proof sent with a DPoP-bound access token (RFC 9449 §7.1). A port, as
 * AccessTokenVerification is: the server provides it (DpopProofVerifier),
 * with its single-use `jti` table.
 */
export abstract class DpopProofVerification {
  /** The JWS algorithms a proof may be signed with, for the `algs` of a challenge. */
  abstract readonly algorithms: readonly string[];

  /**
   * Checks the request's one DPoP proof against the request (htm, htu),
   * `accessToken` (ath) and the key the token is bound to; rejects with
   * DpopProofRefused or DpopKeyMismatch.
   */
  abstract verifyForResource(
    request: FastifyRequest,
    accessToken: string,
    boundTo: string,
  ): Promise<VerifiedDpopProof>;
}
