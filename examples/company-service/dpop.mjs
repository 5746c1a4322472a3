// RFC 9449 §7.1 on the resource side: a DPoP-bound access token comes with a
// proof, made for this one request with the key the token is bound to.
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify } from 'jose';

/** The auth service's list: asymmetric only, so never `none` or HMAC. */
export const DPOP_ALGORITHMS = [
  'RS256',
  'PS256',
  'ES256',
  'ES384',
  'EdDSA',
  'Ed25519',
];
/** A proof is accepted for a minute after its `iat`, with 30 s of clock skew. */
const MAX_AGE_S = 60;
const CLOCK_SKEW_S = 30;

/** Why a request with a DPoP-bound token is refused: `error` is the challenge's. */
export class DpopRefusal extends Error {
  /** @param {'invalid_dpop_proof' | 'invalid_token'} error @param {string} description */
  constructor(error, description) {
    super(description);
    this.error = error;
  }
}

/**
 * Checks the proof of `request` for `accessToken`, bound to `jkt` (the
 * token's `cnf.jkt`), as RFC 9449 §4.3 lists; throws DpopRefusal. `url` is
 * this service's own URL for the request, from its configuration, never
 * from the Host header. `seen` remembers the proofs' `jti`s: a Map serves
 * one process; several instances need a store they share, as the auth
 * service keeps its own in its database.
 *
 * @param {import('node:http').IncomingMessage} request
 * @param {{ url: string, accessToken: string, jkt: string, seen: Map<string, number> }} expected
 */
export async function verifyDpopProof(
  request,
  { url, accessToken, jkt, seen },
) {
  const refuse = (description) =>
    new DpopRefusal('invalid_dpop_proof', description);
  const proofs = request.headersDistinct.dpop ?? [];
  if (proofs.length !== 1) throw refuse('Send exactly one DPoP proof.');
  let payload;
  let protectedHeader;
  try {
    ({ payload, protectedHeader } = await jwtVerify(proofs[0], EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: DPOP_ALGORITHMS,
      maxTokenAge: MAX_AGE_S,
      clockTolerance: CLOCK_SKEW_S,
      requiredClaims: ['jti', 'htm', 'htu', 'iat', 'ath'],
    }));
  } catch {
    // A private key in `jwk` fails here too: EmbeddedJWK takes public keys only.
    throw refuse('The DPoP proof is malformed, badly signed or too old.');
  }
  if (payload.htm !== request.method || !sameUrl(payload.htu, url)) {
    throw refuse('The DPoP proof is for another request.');
  }
  const ath = createHash('sha256').update(accessToken).digest('base64url');
  if (payload.ath !== ath) throw refuse('The DPoP proof is for another token.');
  if ((await calculateJwkThumbprint(protectedHeader.jwk)) !== jkt) {
    throw new DpopRefusal(
      'invalid_token',
      'The token is bound to another key.',
    );
  }
  const now = Date.now();
  for (const [used, until] of seen) if (until < now) seen.delete(used);
  const used = `${jkt} ${payload.jti}`;
  if (seen.has(used)) throw refuse('The DPoP proof was used before.');
  seen.set(used, (payload.iat + MAX_AGE_S + CLOCK_SKEW_S) * 1000);
}

/** §4.3 check 9: the URLs, normalized, without query and fragment. */
function sameUrl(htu, url) {
  try {
    const claimed = new URL(htu);
    claimed.search = '';
    claimed.hash = '';
    return claimed.href === new URL(url).href;
  } catch {
    return false;
  }
}
