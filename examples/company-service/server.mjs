// A company service that trusts the auth service's access tokens without
// calling it on each request: it verifies them against the published JWKS.
import { createServer as createHttpServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import { DPOP_ALGORITHMS, DpopRefusal, verifyDpopProof } from './dpop.mjs';

const REALM = 'orders';
const REQUIRED_SCOPE = 'profile';
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

/**
 * @param {{ issuer: string, audience: string, jwksUrl: string | URL, cooldownDuration?: number, publicUrl?: string }} options
 *   `cooldownDuration`: the least time between two JWKS fetches (jose's default, 30 s), so
 *   that tokens with made-up `kid`s cannot make this service hammer the auth service.
 *   `publicUrl`: this service's URL as its clients call it, which DPoP proofs name (`htu`).
 */
export function createServer({
  issuer,
  audience,
  jwksUrl,
  cooldownDuration,
  publicUrl = 'http://localhost:4000',
}) {
  // Fetched on first use and cached; fetched again when a token names a `kid`
  // it does not hold, which is how a key rotation reaches this service.
  const jwks = createRemoteJWKSet(new URL(jwksUrl), { cooldownDuration });
  /** The `jti`s of the DPoP proofs used, until they are too old anyway. */
  const usedProofs = new Map();

  /** @param {import('node:http').IncomingMessage} request @returns {Promise<Answer>} */
  async function getOrders(request) {
    const [scheme, token] = (request.headers.authorization ?? '').split(' ');
    // RFC 9449 §7.1: a DPoP-bound token comes as `Authorization: DPoP <token>`.
    const dpop = scheme?.toLowerCase() === 'dpop';
    /** The challenge of the scheme the request used, with `params`. */
    const challenge = (params) =>
      dpop
        ? `DPoP realm="${REALM}", algs="${DPOP_ALGORITHMS.join(' ')}"${params}`
        : `Bearer realm="${REALM}"${params}`;
    if ((!dpop && scheme?.toLowerCase() !== 'bearer') || !token) {
      // RFC 6750 §3.1: a request without a token gets a challenge with no error code.
      const headers = { 'WWW-Authenticate': `Bearer realm="${REALM}"` };
      return { status: 401, body: { error: 'unauthorized' }, headers };
    }
    /** @type {import('jose').JWTPayload} */
    let claims;
    try {
      // RFC 9068 §4: the access token profile, the algorithm pinned (never read from the token).
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
        return { status: 503, body: { error: 'unavailable' }, headers };
      }
      const headers = {
        'WWW-Authenticate': challenge(', error="invalid_token"'),
      };
      return { status: 401, body: { error: 'invalid_token' }, headers };
    }
    // RFC 9449 §7.2: a bound token is refused as a bearer token, or stealing
    // it would be enough; and a bearer token gains nothing from a proof.
    const jkt = claims.cnf?.jkt;
    if (dpop !== (typeof jkt === 'string')) {
      const headers = {
        'WWW-Authenticate': challenge(', error="invalid_token"'),
      };
      return { status: 401, body: { error: 'invalid_token' }, headers };
    }
    if (dpop) {
      try {
        await verifyDpopProof(request, {
          url: `${publicUrl}/orders`,
          accessToken: token,
          jkt,
          seen: usedProofs,
        });
      } catch (error) {
        if (!(error instanceof DpopRefusal)) throw error;
        const headers = {
          'WWW-Authenticate': challenge(`, error="${error.error}"`),
        };
        return { status: 401, body: { error: error.error }, headers };
      }
    }
    // RFC 9068 §2.2.3: `scope` is space-delimited (RFC 6749 §3.3).
    const scopes =
      typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
    if (!scopes.includes(REQUIRED_SCOPE)) {
      const headers = {
        'WWW-Authenticate': challenge(
          `, error="insufficient_scope", scope="${REQUIRED_SCOPE}"`,
        ),
      };
      return { status: 403, body: { error: 'insufficient_scope' }, headers };
    }
    const orders = [{ id: 1, item: 'coffee beans', quantity: 2 }];
    return { status: 200, body: { subject: claims.sub, orders } };
  }

  return createHttpServer((request, response) => {
    /** @param {Answer} answer */
    const send = ({ status, body, headers = {} }) => {
      response.writeHead(status, {
        'Content-Type': 'application/json',
        ...headers,
      });
      response.end(JSON.stringify(body));
    };
    const { pathname } = new URL(request.url ?? '/', 'http://localhost');
    if (pathname !== '/orders')
      return send({ status: 404, body: { error: 'not_found' } });
    if (request.method !== 'GET')
      return send({ status: 405, body: {}, headers: { Allow: 'GET' } });
    getOrders(request).then(send, () =>
      send({ status: 500, body: { error: 'server_error' } }),
    );
  });
}

// `node server.mjs`: configured from the environment; imported, it only exports createServer.
if (
  process.argv[1] &&
  import.meta.url === pathToFileURL(process.argv[1]).href
) {
  const issuer = process.env.AUTH_ISSUER ?? 'http://localhost:3000';
  const port = Number(process.env.PORT ?? 4000);
  createServer({
    issuer,
    audience: process.env.AUTH_AUDIENCE ?? issuer,
    jwksUrl: process.env.AUTH_JWKS_URL ?? `${issuer}/.well-known/jwks.json`,
    publicUrl: process.env.PUBLIC_URL ?? `http://localhost:${port}`,
  }).listen(port, () => {
    console.log(
      `Orders on http://localhost:${port}/orders, trusting ${issuer}`,
    );
  });
}
