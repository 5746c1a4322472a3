// What a company service checks before it trusts an access token of the auth
// service, on its own, against the published keys (docs/protecting-a-service.md).
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import { DPOP_ALGORITHMS, DpopRefusal, verifyDpopProof } from './dpop.mjs';

/** jose's errors that say the token is bad; any other failure is ours (503). */
const TOKEN_ERRORS = [
  errors.JWTExpired,
  errors.JWTClaimValidationFailed,
  errors.JWTInvalid,
  errors.JWSInvalid,
  errors.JWSSignatureVerificationFailed,
  errors.JWKSNoMatchingKey,
  errors.JOSEAlgNotAllowed,
  errors.JOSENotSupported,
];

/** @typedef {{ status: number, body: object, headers?: Record<string, string> }} Answer */
/** @typedef {{ ok: true, claims: import('jose').JWTPayload, token: string } | { ok: false, answer: Answer }} Checked */

/**
 * @param {{ issuer: string, audience: string, jwksUrl: string | URL, realm: string, publicUrl: string, cooldownDuration?: number }} options
 *   `audience`: this service's identifier, as registered with the auth service: a token
 *   for any other API is refused here. `publicUrl`: this service's URL as its clients
 *   call it, which DPoP proofs name (`htu`). `cooldownDuration`: the least time between
 *   two JWKS fetches (jose's default, 30 s), so that tokens with made-up `kid`s cannot
 *   make this service hammer the auth service.
 * @returns {(request: import('node:http').IncomingMessage, path: string, scope: string) => Promise<Checked>}
 */
export function createTokenCheck({
  issuer,
  audience,
  jwksUrl,
  realm,
  publicUrl,
  cooldownDuration,
}) {
  // Fetched on first use and cached; fetched again when a token names a `kid`
  // it does not hold, which is how a key rotation reaches this service.
  const jwks = createRemoteJWKSet(new URL(jwksUrl), { cooldownDuration });
  /** The `jti`s of the DPoP proofs used, until they are too old anyway. */
  const usedProofs = new Map();

  return async function check(request, path, scope) {
    const [scheme, token] = (request.headers.authorization ?? '').split(' ');
    // RFC 9449 §7.1: a DPoP-bound token comes as `Authorization: DPoP <token>`.
    const dpop = scheme?.toLowerCase() === 'dpop';
    /** @param {number} status @param {string} error @param {string} [params] */
    const refuse = (status, error, params = `, error="${error}"`) => ({
      ok: /** @type {const} */ (false),
      answer: {
        status,
        body: { error },
        headers: {
          'WWW-Authenticate': dpop
            ? `DPoP realm="${realm}", algs="${DPOP_ALGORITHMS.join(' ')}"${params}`
            : `Bearer realm="${realm}"${params}`,
        },
      },
    });
    if ((!dpop && scheme?.toLowerCase() !== 'bearer') || !token) {
      // RFC 6750 §3.1: a request without a token gets a challenge with no error code.
      return refuse(401, 'unauthorized', '');
    }
    /** @type {import('jose').JWTPayload} */
    let claims;
    try {
      // RFC 9068 §4: the access token profile, the algorithm pinned (never read from the
      // token), and `aud` this service's own: RFC 8707 makes a token for one API useless
      // at every other.
      ({ payload: claims } = await jwtVerify(token, jwks, {
        issuer,
        audience,
        typ: 'at+jwt',
        algorithms: ['RS256'],
        requiredClaims: ['sub', 'exp', 'iat', 'jti', 'client_id'],
      }));
    } catch (error) {
      if (!TOKEN_ERRORS.some((type) => error instanceof type)) {
        // The JWKS could not be fetched: the token may be fine, so the client must not drop it.
        const headers = { 'Retry-After': '5' };
        return {
          ok: false,
          answer: { status: 503, body: { error: 'unavailable' }, headers },
        };
      }
      return refuse(401, 'invalid_token');
    }
    // RFC 9449 §7.2: a bound token is refused as a bearer token, or stealing
    // it would be enough; and a bearer token gains nothing from a proof.
    const jkt = claims.cnf?.jkt;
    if (dpop !== (typeof jkt === 'string')) return refuse(401, 'invalid_token');
    if (dpop) {
      try {
        await verifyDpopProof(request, {
          url: `${publicUrl}${path}`,
          accessToken: token,
          jkt,
          seen: usedProofs,
        });
      } catch (error) {
        if (!(error instanceof DpopRefusal)) throw error;
        return refuse(401, error.error);
      }
    }
    // RFC 9068 §2.2.3: `scope` is space-delimited (RFC 6749 §3.3).
    const scopes =
      typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
    if (!scopes.includes(scope)) {
      return refuse(
        403,
        'insufficient_scope',
        `, error="insufficient_scope", scope="${scope}"`,
      );
    }
    return { ok: true, claims, token };
  };
}

/**
 * A Node http server answering `routes`, each `(request) => Promise<Answer>`,
 * with JSON; 404 and 405 for the rest.
 * @param {Record<string, (request: import('node:http').IncomingMessage) => Promise<Answer>>} routes GET routes by path
 */
export function jsonRoutes(routes) {
  /** @param {import('node:http').IncomingMessage} request @param {import('node:http').ServerResponse} response */
  return (request, response) => {
    /** @param {Answer} answer */
    const send = ({ status, body, headers = {} }) => {
      response.writeHead(status, {
        'Content-Type': 'application/json',
        ...headers,
      });
      response.end(JSON.stringify(body));
    };
    const { pathname } = new URL(request.url ?? '/', 'http://localhost');
    const route = routes[pathname];
    if (route === undefined)
      return send({ status: 404, body: { error: 'not_found' } });
    if (request.method !== 'GET')
      return send({ status: 405, body: {}, headers: { Allow: 'GET' } });
    route(request).then(send, () =>
      send({ status: 500, body: { error: 'server_error' } }),
    );
  };
}
