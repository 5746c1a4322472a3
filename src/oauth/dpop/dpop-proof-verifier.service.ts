import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyRequest } from 'fastify';
import type { JWK, JWTPayload, ProtectedHeaderParameters } from 'jose';
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  EmbeddedJWK,
  errors,
  jwtVerify,
} from 'jose';
import { createHash } from 'node:crypto';
import type { VerifiedDpopProof } from '../../access/dpop-proof-verification.js';
import {
  DpopKeyMismatch,
  DpopProofRefused,
  DpopProofVerification,
} from '../../access/dpop-proof-verification.js';
import { CLIENT_ASSERTION_ALGORITHMS } from '../../clients/client-jwks.js';
import type { AppConfig } from '../../config/env.js';
import { DpopProofJtis } from './dpop-proof-jtis.service.js';

/** RFC 9449 §4.2: the `typ` of a proof. */
export const DPOP_PROOF_TYPE = 'dpop+jwt';

/** Asymmetric only (§4.3 check 5), the same as client assertions: never `none` or HMAC. */
export const DPOP_ALGORITHMS: readonly string[] = CLIENT_ASSERTION_ALGORITHMS;

/**
 * §4.3 check 11 and §11.1: a proof is accepted for this long after its
 * `iat`, plus the skew, and no earlier than the skew before it. A client
 * makes a proof per request, so the window only has to cover the trip
 * and the clocks; its end is also how long a `jti` is remembered.
 */
export const DPOP_PROOF_MAX_AGE_S = 60;
export const DPOP_CLOCK_SKEW_S = 30;

/** RFC 7517 and RFC 7518 §6: members only a private or symmetric key has. */
const PRIVATE_KEY_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/**
 * Checks DPoP proofs (RFC 9449 §4.3) with jose: the key is the one the
 * proof carries (`jwk`), the algorithm one of the asymmetric ones this
 * service supports, the request the one the proof was made for (`htm`,
 * `htu` as the public issuer sees it), the proof fresh and used once
 * across instances; at a protected resource also bound to the token
 * (`ath`) and made with the token's key (`cnf.jkt`). Nonces (§8, §9) are
 * not used.
 */
@Injectable()
export class DpopProofVerifier extends DpopProofVerification {
  readonly algorithms = DPOP_ALGORITHMS;
  private readonly publicUrl: string;

  constructor(
    private readonly jtis: DpopProofJtis,
    config: ConfigService<AppConfig, true>,
  ) {
    super();
    this.publicUrl = config.get('PUBLIC_URL', { infer: true });
  }

  /** Whether the request carries a DPoP header at all: a token request without one is a bearer request. */
  hasProof(request: FastifyRequest): boolean {
    return request.headers.dpop !== undefined;
  }

  /** The proof sent to the token endpoint (§5): its key's thumbprint, or a DpopProofRefused. */
  verifyForTokenRequest(request: FastifyRequest): Promise<VerifiedDpopProof> {
    return this.verify(request);
  }

  verifyForResource(
    request: FastifyRequest,
    accessToken: string,
    boundTo: string,
  ): Promise<VerifiedDpopProof> {
    return this.verify(request, { accessToken, boundTo });
  }

  private async verify(
    request: FastifyRequest,
    tokenBinding?: { accessToken: string; boundTo: string },
  ): Promise<VerifiedDpopProof> {
    const proof = singleProofOf(request);
    checkHeader(proof);
    const { payload, protectedHeader } = await verifySignature(proof);
    if (payload.htm !== request.method) {
      throw new DpopProofRefused(
        `The DPoP proof is for another method: htm must be ${request.method}.`,
      );
    }
    const expectedUrl = this.publicUrlOf(request);
    if (
      typeof payload.htu !== 'string' ||
      comparableUrl(payload.htu) !== comparableUrl(expectedUrl)
    ) {
      throw new DpopProofRefused(
        `The DPoP proof is for another URL: htu must be ${expectedUrl}.`,
      );
    }
    if (typeof payload.jti !== 'string' || payload.jti === '') {
      throw new DpopProofRefused('The DPoP proof needs a jti.');
    }
    const jkt = await calculateJwkThumbprint(
      protectedHeader.jwk as JWK,
      'sha256',
    );
    if (tokenBinding !== undefined) {
      if (payload.ath !== accessTokenHash(tokenBinding.accessToken)) {
        throw new DpopProofRefused(
          'The DPoP proof is not for this access token: ath must be the base64url SHA-256 of the token.',
        );
      }
      if (jkt !== tokenBinding.boundTo) {
        throw new DpopKeyMismatch(
          'The DPoP proof is made with another key than the one this access token is bound to.',
        );
      }
    }
    // Last, so that a refused proof costs no write.
    const rememberedUntil = new Date(
      (payload.iat! + DPOP_PROOF_MAX_AGE_S + DPOP_CLOCK_SKEW_S) * 1000,
    );
    if (!(await this.jtis.use(jkt, payload.jti, rememberedUntil))) {
      throw new DpopProofRefused(
        'This DPoP proof (its jti) was already used: make a new one for each request.',
      );
    }
    return { jkt };
  }

  /**
   * §4.3 check 9: the URL the client called, as PUBLIC_URL says the world
   * reaches this service, never the Host header a proxy or a caller
   * chose; the query is not part of it.
   */
  private publicUrlOf(request: FastifyRequest): string {
    const [path] = request.url.split('?', 1);
    return `${this.publicUrl}${path}`;
  }
}

/**
 * §4.3 check 1: exactly one DPoP header. Node joins repeated headers into
 * one value, so they are counted in the raw list.
 */
function singleProofOf(request: FastifyRequest): string {
  const { rawHeaders } = request.raw;
  let count = 0;
  for (let index = 0; index < rawHeaders.length; index += 2) {
    if (rawHeaders[index].toLowerCase() === 'dpop') count += 1;
  }
  const proof = request.headers.dpop;
  if (count === 0 || typeof proof !== 'string' || proof === '') {
    throw new DpopProofRefused('This request needs a DPoP proof header.');
  }
  if (count > 1) {
    throw new DpopProofRefused('Send exactly one DPoP proof header.');
  }
  return proof;
}

/**
 * §4.3 checks 4, 5 and 7 before the signature, so each refusal says what
 * is wrong; jose checks them again as it verifies.
 */
function checkHeader(proof: string): void {
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(proof);
  } catch {
    throw new DpopProofRefused('The DPoP proof is not a signed JWT.');
  }
  // A media type: case-insensitive, the `application/` prefix optional (RFC 7515 §4.1.9).
  const typ = header.typ?.toLowerCase().replace(/^application\//, '');
  if (typ !== DPOP_PROOF_TYPE) {
    throw new DpopProofRefused(
      `The DPoP proof must have typ ${DPOP_PROOF_TYPE}.`,
    );
  }
  if (!DPOP_ALGORITHMS.includes(header.alg ?? '')) {
    throw new DpopProofRefused(
      `The DPoP proof must be signed with one of ${DPOP_ALGORITHMS.join(', ')}.`,
    );
  }
  const jwk: unknown = header.jwk;
  if (typeof jwk !== 'object' || jwk === null) {
    throw new DpopProofRefused(
      'The DPoP proof needs the public key it is signed with in its jwk header.',
    );
  }
  if (PRIVATE_KEY_MEMBERS.some((member) => Object.hasOwn(jwk, member))) {
    throw new DpopProofRefused(
      'The jwk of the DPoP proof must be a public key, without private members.',
    );
  }
}

async function verifySignature(proof: string): Promise<{
  payload: JWTPayload;
  protectedHeader: ProtectedHeaderParameters;
}> {
  try {
    return await jwtVerify(proof, EmbeddedJWK, {
      typ: DPOP_PROOF_TYPE,
      algorithms: [...DPOP_ALGORITHMS],
      maxTokenAge: DPOP_PROOF_MAX_AGE_S,
      clockTolerance: DPOP_CLOCK_SKEW_S,
      requiredClaims: ['jti', 'htm', 'htu', 'iat'],
    });
  } catch (error) {
    // jose's messages quote claim names: not echoed (RFC 6749 §5.2 excludes `"`).
    if (error instanceof errors.JWTExpired && error.claim === 'iat') {
      throw new DpopProofRefused(
        `The DPoP proof is too old: its iat must be within ${DPOP_PROOF_MAX_AGE_S} seconds.`,
      );
    }
    if (error instanceof errors.JWTClaimValidationFailed) {
      throw new DpopProofRefused(
        error.claim === 'iat' && error.reason === 'check_failed'
          ? 'The DPoP proof is issued in the future (iat).'
          : `The DPoP proof has a missing or invalid ${error.claim} claim.`,
      );
    }
    if (error instanceof errors.JWSSignatureVerificationFailed) {
      throw new DpopProofRefused(
        'The signature of the DPoP proof does not verify with its jwk.',
      );
    }
    throw new DpopProofRefused('The DPoP proof is not a valid JWT.');
  }
}

/**
 * §4.3 check 9: compared after RFC 3986 §6.2.2 and §6.2.3 normalization
 * (the WHATWG parser lowercases scheme and host, drops a default port,
 * resolves dot segments), without query and fragment.
 */
function comparableUrl(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    parsed.search = '';
    parsed.hash = '';
    return parsed.href;
  } catch {
    return undefined;
  }
}

/** §4.2: `ath`, the base64url SHA-256 of the access token's ASCII. */
function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}
