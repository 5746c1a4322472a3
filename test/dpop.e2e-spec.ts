import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CryptoKey, JWK, JWTPayload } from 'jose';
import {
  calculateJwkThumbprint,
  decodeJwt,
  exportJWK,
  generateKeyPair,
  SignJWT,
} from 'jose';
import { createHash, randomUUID } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { DpopProofJti } from '../src/oauth/dpop/dpop-proof-jti.entity.js';
import { DpopProofJtis } from '../src/oauth/dpop/dpop-proof-jtis.service.js';
import {
  BEARER_PREFIX,
  expectOAuthError,
  expectProblem,
  INVALID_TOKEN_CHALLENGE,
} from './utils/expectations.js';
import type { CreatedClient, TokenBody } from './utils/flows.js';
import {
  ADMIN,
  ADMIN_ENV,
  createClientAs,
  GOOD_PASSWORD,
  passwordGrant,
  registerUser,
  tokenClient,
} from './utils/flows.js';
import { freePort } from './utils/processes.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp, TEST_PUBLIC_URL } from './utils/test-app.js';
import { now } from './utils/tokens.js';

const TOKEN_URL = `${TEST_PUBLIC_URL}/auth/token`;
const ME_URL = `${TEST_PUBLIC_URL}/users/me`;
const ALGS = 'RS256 PS256 ES256 ES384 EdDSA Ed25519';
const DPOP_PREFIX = `DPoP realm="${TEST_PUBLIC_URL}", resource_metadata="${TEST_PUBLIC_URL}/.well-known/oauth-protected-resource", algs="${ALGS}"`;

interface DpopKey {
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
  /** RFC 7638 SHA-256 thumbprint: the `cnf.jkt` of the tokens it binds. */
  jkt: string;
}

async function dpopKey(alg = 'ES256'): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, {
    extractable: true,
  });
  const publicJwk = await exportJWK(publicKey);
  return {
    alg,
    privateKey,
    publicKey,
    publicJwk,
    jkt: await calculateJwkThumbprint(publicJwk, 'sha256'),
  };
}

const ath = (accessToken: string) =>
  createHash('sha256').update(accessToken).digest('base64url');

interface ProofOptions {
  accessToken?: string;
  claims?: JWTPayload;
  header?: Record<string, unknown>;
}

/** RFC 9449 §4.2: a proof for one request, signed with `key`. */
function proof(
  key: DpopKey,
  htm: string,
  htu: string,
  { accessToken, claims = {}, header = {} }: ProofOptions = {},
): Promise<string> {
  return new SignJWT({
    htm,
    htu,
    jti: randomUUID(),
    iat: now(),
    ...(accessToken === undefined ? {} : { ath: ath(accessToken) }),
    ...claims,
  })
    .setProtectedHeader({
      alg: key.alg,
      typ: 'dpop+jwt',
      jwk: key.publicJwk,
      ...header,
    })
    .sign(key.privateKey);
}

const base64urlJson = (value: object) =>
  Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsigned proof (`alg: none`): jose will not make one. */
function unsignedProof(key: DpopKey, htm: string, htu: string): string {
  const header = { alg: 'none', typ: 'dpop+jwt', jwk: key.publicJwk };
  const payload = { htm, htu, jti: randomUUID(), iat: now() };
  return `${base64urlJson(header)}.${base64urlJson(payload)}.`;
}

/** A proof MACed with a secret, its "key" in the header. */
function hmacProof(key: DpopKey, htm: string, htu: string): Promise<string> {
  return new SignJWT({ htm, htu, jti: randomUUID(), iat: now() })
    .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: key.publicJwk })
    .sign(new TextEncoder().encode('a shared secret of thirty-two bytes!'));
}

/** A proof carrying its private key in `jwk`. */
async function privateJwkProof(
  key: DpopKey,
  htm: string,
  htu: string,
): Promise<string> {
  return proof(key, htm, htu, {
    header: { jwk: await exportJWK(key.privateKey) },
  });
}

const cnfOf = (accessToken: string) =>
  (decodeJwt(accessToken) as { cnf?: { jkt: string } }).cnf;

function expectInvalidDpopProof(response: Response, description?: RegExp) {
  expectOAuthError(response, 400, 'invalid_dpop_proof');
  if (description !== undefined) {
    expect(
      (response.body as { error_description: string }).error_description,
    ).toMatch(description);
  }
}

/** RFC 9449 §7.1: 401 problem details with the DPoP challenge naming `error`. */
function expectDpopChallenge(
  response: Response,
  error: 'invalid_dpop_proof' | 'invalid_token',
  description: RegExp,
) {
  expectProblem(response, 401, '/users/me');
  const challenge = response.headers['www-authenticate'];
  expect(challenge).toMatch(
    new RegExp(
      `^${escape(DPOP_PREFIX)}, error="${error}", error_description="[^"\\\\]+"$`,
    ),
  );
  expect(challenge).toMatch(description);
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('DPoP (RFC 9449)', () => {
  let testApp: TestApp;
  let adminToken: string;
  let key: DpopKey;
  let otherKey: DpopKey;
  let strangerKey: DpopKey;
  const { tokenRequest, login } = tokenClient(() => testApp);

  beforeAll(async () => {
    testApp = await createTestApp(ADMIN_ENV);
    adminToken = await passwordGrant(testApp, ADMIN.username, ADMIN.password);
    await registerUser(testApp, 'alice');
    key = await dpopKey();
    otherKey = await dpopKey('EdDSA');
    strangerKey = await dpopKey();
  });
  afterAll(() => testApp.close());

  const loginForm = {
    grant_type: 'password',
    username: 'alice',
    password: GOOD_PASSWORD,
  };

  /** A token request with a fresh proof of `withKey` for the token endpoint. */
  const tokenRequestWithProof = async (
    form: Record<string, string>,
    withKey = key,
  ): Promise<Response> =>
    tokenRequest(form).set('DPoP', await proof(withKey, 'POST', TOKEN_URL));

  /** The same, which must succeed. */
  const grantedWithProof = async (
    form: Record<string, string>,
    withKey = key,
  ): Promise<TokenBody> => {
    const response = await tokenRequestWithProof(form, withKey);
    expect(response.status).toBe(200);
    return response.body as TokenBody;
  };

  const boundLogin = (withKey = key) => grantedWithProof(loginForm, withKey);

  const me = (scheme: string, accessToken: string, dpop?: string) => {
    const request = testApp
      .http()
      .get('/users/me')
      .set('Authorization', `${scheme} ${accessToken}`);
    return dpop === undefined ? request : request.set('DPoP', dpop);
  };

  describe('the token endpoint (§5)', () => {
    it('binds the access token to the key of the proof: token_type DPoP, cnf.jkt its thumbprint', async () => {
      const response = await tokenRequestWithProof(loginForm);
      expect(response.status).toBe(200);
      const body = response.body as TokenBody;
      expect(body.token_type).toBe('DPoP');
      expect(cnfOf(body.access_token)).toEqual({ jkt: key.jkt });
      expect(response.headers['cache-control']).toBe('no-store');
    });

    it('issues bearer tokens as before without a proof', async () => {
      const body = await login();
      expect(body.token_type).toBe('Bearer');
      expect(cnfOf(body.access_token)).toBeUndefined();
    });

    it('§4.3 check 9: compares htu normalized, without query and fragment', async () => {
      const response = await tokenRequest(loginForm)
        .set(
          'DPoP',
          await proof(key, 'POST', 'HTTP://Auth.Test:80/auth/./token?x=1#f'),
        )
        .expect(200);
      expect((response.body as TokenBody).token_type).toBe('DPoP');
    });

    const refusals: [string, () => Promise<string>, RegExp][] = [
      [
        'a proof for another method (htm)',
        () => proof(key, 'GET', TOKEN_URL),
        /htm must be POST/,
      ],
      [
        'a proof for another URL (htu)',
        () => proof(key, 'POST', `${TEST_PUBLIC_URL}/auth/revoke`),
        /htu must be http:\/\/auth\.test\/auth\/token/,
      ],
      [
        'a proof for the same path at another origin (htu)',
        () => proof(key, 'POST', 'https://auth.test/auth/token'),
        /htu must be/,
      ],
      [
        'a proof older than 60 seconds and the skew (iat)',
        () => proof(key, 'POST', TOKEN_URL, { claims: { iat: now() - 120 } }),
        /too old/,
      ],
      [
        'a proof from the future beyond the skew (iat)',
        () => proof(key, 'POST', TOKEN_URL, { claims: { iat: now() + 120 } }),
        /in the future/,
      ],
      [
        'a proof without jti',
        () => proof(key, 'POST', TOKEN_URL, { claims: { jti: undefined } }),
        /jti/,
      ],
      [
        'alg none',
        () => Promise.resolve(unsignedProof(key, 'POST', TOKEN_URL)),
        /must be signed with one of/,
      ],
      [
        'an HMAC (HS256)',
        () => hmacProof(key, 'POST', TOKEN_URL),
        /must be signed with one of/,
      ],
      [
        'a private key in jwk',
        () => privateJwkProof(key, 'POST', TOKEN_URL),
        /must be a public key/,
      ],
      [
        'typ other than dpop+jwt',
        () => proof(key, 'POST', TOKEN_URL, { header: { typ: 'jwt' } }),
        /typ dpop\+jwt/,
      ],
      [
        'a signature that is not of the key in jwk',
        () =>
          proof(key, 'POST', TOKEN_URL, {
            header: { jwk: strangerKey.publicJwk },
          }),
        /does not verify with its jwk/,
      ],
      [
        'a header that is not a JWT',
        () => Promise.resolve('not-a-jwt'),
        /not a signed JWT/,
      ],
    ];

    it.each(refusals)(
      'refuses %s with 400 invalid_dpop_proof',
      async (_what, makeProof, description) => {
        const response = await tokenRequest(loginForm).set(
          'DPoP',
          await makeProof(),
        );
        expectInvalidDpopProof(response, description);
      },
    );

    it('refuses a proof used before (jti), even for a valid request', async () => {
      const once = await proof(key, 'POST', TOKEN_URL);
      await tokenRequest(loginForm).set('DPoP', once).expect(200);
      expectInvalidDpopProof(
        await tokenRequest(loginForm).set('DPoP', once),
        /already used/,
      );
    });

    it('§4.3 check 1: refuses two DPoP headers', async () => {
      const response = await testApp
        .http()
        .post('/auth/token')
        .type('form')
        // Node's http sends an array as one header line per value; supertest types only Cookie so.
        .set('DPoP', [
          await proof(key, 'POST', TOKEN_URL),
          await proof(key, 'POST', TOKEN_URL),
        ] as unknown as string)
        .send(loginForm);
      expectInvalidDpopProof(response, /exactly one/);
    });

    it('checks the proof before the password: a wrong password with a bad proof is a proof error', async () => {
      const response = await tokenRequest({
        ...loginForm,
        password: 'wrong password',
      }).set('DPoP', await proof(key, 'GET', TOKEN_URL));
      expectInvalidDpopProof(response, /htm/);
    });

    describe("the public client's refresh tokens (§5)", () => {
      it('are bound to the key: refused with another key or none, accepted with it', async () => {
        const { refresh_token } = await boundLogin();
        const refreshForm = { grant_type: 'refresh_token', refresh_token };

        const withOtherKey = await tokenRequestWithProof(refreshForm, otherKey);
        expectOAuthError(withOtherKey, 400, 'invalid_grant');
        expect(
          (withOtherKey.body as { error_description: string })
            .error_description,
        ).toMatch(/bound to a DPoP key/);
        expectOAuthError(await tokenRequest(refreshForm), 400, 'invalid_grant');

        // The refused attempts did not spend the token, nor end the session as reuse.
        const refreshed = await grantedWithProof(refreshForm);
        expect(refreshed.token_type).toBe('DPoP');
        expect(cnfOf(refreshed.access_token)).toEqual({ jkt: key.jkt });

        // Its successor is bound alike.
        expectOAuthError(
          await tokenRequest({
            grant_type: 'refresh_token',
            refresh_token: refreshed.refresh_token,
          }),
          400,
          'invalid_grant',
        );
      });

      it('are not bound when the login had no proof', async () => {
        const { refresh_token } = await login();
        const response = await tokenRequestWithProof(
          { grant_type: 'refresh_token', refresh_token },
          otherKey,
        );
        expect(response.status).toBe(200);
        expect(cnfOf((response.body as TokenBody).access_token)).toEqual({
          jkt: otherKey.jkt,
        });
      });
    });

    describe('a confidential client', () => {
      let client: CreatedClient;
      beforeAll(async () => {
        client = await createClientAs(testApp, adminToken, {
          name: 'dpop-service',
          allowedScopes: ['profile', 'users:read'],
          allowedGrantTypes: [
            'client_credentials',
            'password',
            'refresh_token',
          ],
        });
      });
      const withClient = (form: Record<string, string>) => ({
        ...form,
        client_id: client.id,
        client_secret: client.clientSecret,
      });

      it('gets a bound client_credentials token', async () => {
        const body = await grantedWithProof(
          withClient({ grant_type: 'client_credentials' }),
        );
        expect(body.token_type).toBe('DPoP');
        expect(cnfOf(body.access_token)).toEqual({ jkt: key.jkt });
      });

      it('§5: its refresh token is not bound, the new access token is bound to whatever proof comes', async () => {
        const { refresh_token, token_type } = await grantedWithProof(
          withClient(loginForm),
        );
        expect(token_type).toBe('DPoP');

        const bearer = (
          await tokenRequest(
            withClient({ grant_type: 'refresh_token', refresh_token }),
          ).expect(200)
        ).body as TokenBody;
        expect(bearer.token_type).toBe('Bearer');
        expect(cnfOf(bearer.access_token)).toBeUndefined();

        const rebound = await grantedWithProof(
          withClient({
            grant_type: 'refresh_token',
            refresh_token: bearer.refresh_token,
          }),
          otherKey,
        );
        expect(cnfOf(rebound.access_token)).toEqual({ jkt: otherKey.jkt });
      });
    });

    describe('a client registered with dpopBoundAccessTokens (§5.2)', () => {
      let client: CreatedClient & { dpopBoundAccessTokens: boolean };
      beforeAll(async () => {
        client = (await createClientAs(testApp, adminToken, {
          name: 'dpop-only',
          allowedScopes: ['users:read'],
          allowedGrantTypes: ['client_credentials'],
          dpopBoundAccessTokens: true,
        })) as typeof client;
      });
      const form = () => ({
        grant_type: 'client_credentials',
        client_id: client.id,
        client_secret: client.clientSecret,
      });

      it('is registered so', () => {
        expect(client.dpopBoundAccessTokens).toBe(true);
      });

      it('is refused a token without a proof: invalid_request', async () => {
        const response = await tokenRequest(form());
        expectOAuthError(response, 400, 'invalid_request');
        expect(
          (response.body as { error_description: string }).error_description,
        ).toMatch(/registered to use DPoP/);
      });

      it('gets a bound token with one', async () => {
        expect((await grantedWithProof(form())).token_type).toBe('DPoP');
      });

      it('refuses a non-boolean dpopBoundAccessTokens at registration', async () => {
        await testApp
          .http()
          .post('/clients')
          .set('Authorization', `Bearer ${adminToken}`)
          .send({
            name: 'bad',
            allowedScopes: [],
            allowedGrantTypes: ['client_credentials'],
            dpopBoundAccessTokens: 'yes',
          })
          .expect(400);
      });
    });

    describe('introspection (§6.2)', () => {
      let client: CreatedClient;
      beforeAll(async () => {
        client = await createClientAs(testApp, adminToken, {
          name: 'introspector',
          allowedScopes: [],
          allowedGrantTypes: ['client_credentials'],
        });
      });
      const introspect = async (token: string) =>
        (
          await testApp
            .http()
            .post('/auth/introspect')
            .type('form')
            .auth(client.id, client.clientSecret)
            .send({ token })
            .expect(200)
        ).body as Record<string, unknown>;

      it('answers cnf.jkt and token_type DPoP for a bound access token, and cnf for a bound refresh token', async () => {
        const { access_token, refresh_token } = await boundLogin();
        expect(await introspect(access_token)).toMatchObject({
          active: true,
          token_type: 'DPoP',
          cnf: { jkt: key.jkt },
        });
        expect(await introspect(refresh_token)).toMatchObject({
          active: true,
          cnf: { jkt: key.jkt },
        });
      });

      it('answers token_type Bearer and no cnf for a bearer token', async () => {
        const introspection = await introspect((await login()).access_token);
        expect(introspection.token_type).toBe('Bearer');
        expect(introspection.cnf).toBeUndefined();
      });
    });
  });

  describe('the protected routes (§7)', () => {
    let bound: TokenBody;
    beforeAll(async () => {
      bound = await boundLogin();
    });
    const meProof = (options: ProofOptions = {}, withKey = key) =>
      proof(withKey, 'GET', ME_URL, {
        accessToken: bound.access_token,
        ...options,
      });

    it('accepts a bound token with its proof, again with a fresh proof (the cached token still needs one)', async () => {
      const first = await me('DPoP', bound.access_token, await meProof());
      expect(first.status).toBe(200);
      expect((first.body as { username: string }).username).toBe('alice');
      await me('DPoP', bound.access_token, await meProof()).expect(200);
      expectDpopChallenge(
        await me('DPoP', bound.access_token),
        'invalid_dpop_proof',
        /needs a DPoP proof/,
      );
    });

    it('builds htu from PUBLIC_URL, not from the Host header', async () => {
      await me('DPoP', bound.access_token, await meProof())
        .set('Host', 'evil.example')
        .expect(200);
      const forHost = await proof(key, 'GET', 'http://evil.example/users/me', {
        accessToken: bound.access_token,
      });
      expectDpopChallenge(
        await me('DPoP', bound.access_token, forHost).set(
          'Host',
          'evil.example',
        ),
        'invalid_dpop_proof',
        /htu must be http:\/\/auth\.test\/users\/me/,
      );
    });

    const proofRefusals: [string, () => Promise<string>, RegExp][] = [
      [
        'another method (htm)',
        () => meProof({ claims: { htm: 'POST' } }),
        /htm must be GET/,
      ],
      [
        'another URL (htu)',
        () => meProof({ claims: { htu: `${TEST_PUBLIC_URL}/users/me/x` } }),
        /htu must be/,
      ],
      [
        'an old iat',
        () => meProof({ claims: { iat: now() - 120 } }),
        /too old/,
      ],
      [
        'a future iat',
        () => meProof({ claims: { iat: now() + 120 } }),
        /in the future/,
      ],
      ['no ath', () => proof(key, 'GET', ME_URL), /ath must be/],
      [
        "another token's ath",
        () => meProof({ accessToken: 'another.access.token' }),
        /ath must be/,
      ],
      [
        'alg none',
        () => Promise.resolve(unsignedProof(key, 'GET', ME_URL)),
        /must be signed with one of/,
      ],
      [
        'an HMAC (HS256)',
        () => hmacProof(key, 'GET', ME_URL),
        /must be signed with one of/,
      ],
      [
        'a private key in jwk',
        () => privateJwkProof(key, 'GET', ME_URL),
        /must be a public key/,
      ],
      [
        'typ other than dpop+jwt',
        () => meProof({ header: { typ: 'JWT' } }),
        /typ dpop\+jwt/,
      ],
    ];

    it.each(proofRefusals)(
      'answers 401 invalid_dpop_proof to a proof with %s',
      async (_what, makeProof, description) => {
        expectDpopChallenge(
          await me('DPoP', bound.access_token, await makeProof()),
          'invalid_dpop_proof',
          description,
        );
      },
    );

    it('answers 401 invalid_dpop_proof to a proof used before (jti)', async () => {
      const once = await meProof();
      await me('DPoP', bound.access_token, once).expect(200);
      expectDpopChallenge(
        await me('DPoP', bound.access_token, once),
        'invalid_dpop_proof',
        /already used/,
      );
    });

    it("answers 401 invalid_token to a proof of another key than the token's cnf.jkt", async () => {
      expectDpopChallenge(
        await me('DPoP', bound.access_token, await meProof({}, otherKey)),
        'invalid_token',
        /another key/,
      );
    });

    it('§7.2: refuses a bound token sent as a bearer token, with the Bearer challenge', async () => {
      const response = await me('Bearer', bound.access_token, await meProof());
      expectProblem(response, 401, '/users/me');
      expect(response.headers['www-authenticate']).toMatch(
        INVALID_TOKEN_CHALLENGE,
      );
      expect(response.headers['www-authenticate']).toMatch(
        /DPoP-bound|bound to a DPoP key/,
      );
    });

    it('refuses a bearer token sent under the DPoP scheme', async () => {
      const { access_token } = await login();
      expectDpopChallenge(
        await me(
          'DPoP',
          access_token,
          await proof(key, 'GET', ME_URL, { accessToken: access_token }),
        ),
        'invalid_token',
        /not bound to a DPoP key/,
      );
    });

    it('answers an expired or forged token under the DPoP scheme with the DPoP challenge', async () => {
      const forged = `${bound.access_token.slice(0, -4)}AAAA`;
      expectDpopChallenge(
        await me(
          'DPoP',
          forged,
          await proof(key, 'GET', ME_URL, { accessToken: forged }),
        ),
        'invalid_token',
        /signature/,
      );
    });

    it('answers a missing scope under the DPoP scheme with 403 and the DPoP challenge', async () => {
      const response = await testApp
        .http()
        .get('/users')
        .set('Authorization', `DPoP ${bound.access_token}`)
        .set(
          'DPoP',
          await proof(key, 'GET', `${TEST_PUBLIC_URL}/users`, {
            accessToken: bound.access_token,
          }),
        );
      expect(response.status).toBe(403);
      expect(response.headers['www-authenticate']).toBe(
        `${DPOP_PREFIX}, error="insufficient_scope", scope="users:read"`,
      );
    });

    it('verifies a DPoP-bound token on a route where a token is optional (POST /users)', async () => {
      const register = (username: string) =>
        testApp
          .http()
          .post('/users')
          .set('Authorization', `DPoP ${bound.access_token}`)
          .send({ username, password: GOOD_PASSWORD });
      const refused = await register('carol');
      expect(refused.status).toBe(401);
      expect(refused.headers['www-authenticate']).toMatch(
        new RegExp(`^${escape(DPOP_PREFIX)}, error="invalid_dpop_proof"`),
      );
      await register('carol')
        .set(
          'DPoP',
          await proof(key, 'POST', `${TEST_PUBLIC_URL}/users`, {
            accessToken: bound.access_token,
          }),
        )
        .expect(201);
    });

    it('keeps bearer tokens working as before, a stray DPoP header ignored', async () => {
      const { access_token } = await login();
      await me('Bearer', access_token).expect(200);
      await me('Bearer', access_token, 'not a proof').expect(200);
      const missing = await testApp.http().get('/users/me');
      expect(missing.headers['www-authenticate']).toBe(BEARER_PREFIX);
    });
  });

  it('forgets used proof jtis once their proofs are out of the window', async () => {
    const used = testApp.app.get(DataSource).getRepository(DpopProofJti);
    await grantedWithProof(loginForm);
    expect(await used.count()).toBeGreaterThan(0);
    // The hourly purge, run as if the window (60 s and 30 s of skew) had passed.
    await testApp.app
      .get(DpopProofJtis)
      .removeExpired(new Date(Date.now() + 10 * 60_000));
    expect(await used.count()).toBe(0);
  });
});

/** The same flows driven by a strict client written elsewhere: panva's oauth4webapi. */
describe('DPoP with oauth4webapi', () => {
  let testApp: TestApp;
  let baseUrl: string;
  let as: oauth.AuthorizationServer;
  let keyPair: oauth.CryptoKeyPair;
  let otherKeyPair: oauth.CryptoKeyPair;
  const options = { [oauth.allowInsecureRequests]: true };
  const publicClient: oauth.Client = { client_id: 'public' };

  beforeAll(async () => {
    // oauth4webapi insists that the issuer is the address it reaches: choose the port first.
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    testApp = await createTestApp({ ...ADMIN_ENV, PUBLIC_URL: baseUrl });
    await testApp.app.listen({ port, host: '127.0.0.1' });
    await registerUser(testApp, 'bob');
    const issuer = new URL(baseUrl);
    as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...options }),
    );
    keyPair = await oauth.generateKeyPair('ES256');
    otherKeyPair = await oauth.generateKeyPair('ES256');
  });
  afterAll(() => testApp.close());

  const handle = (pair = keyPair, client = publicClient) =>
    oauth.DPoP(client, pair);

  const callMe = (accessToken: string, dpop: oauth.DPoPHandle) =>
    oauth.protectedResourceRequest(
      accessToken,
      'GET',
      new URL(`${baseUrl}/users/me`),
      new Headers(),
      null,
      { DPoP: dpop, ...options },
    );

  it('discovers the DPoP algorithms', () => {
    expect(as.dpop_signing_alg_values_supported).toContain('ES256');
  });

  it("logs in with a proof, calls /users/me with the key, and refreshes with it only (the public client's refresh token bound)", async () => {
    const dpop = handle();
    const granted = await oauth.processGenericTokenEndpointResponse(
      as,
      publicClient,
      await oauth.genericTokenEndpointRequest(
        as,
        publicClient,
        oauth.None(),
        'password',
        { username: 'bob', password: GOOD_PASSWORD, scope: 'profile' },
        { DPoP: dpop, ...options },
      ),
    );
    expect(granted.token_type).toBe('dpop');
    const response = await callMe(granted.access_token, dpop);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { username: string }).username).toBe(
      'bob',
    );

    await expect(
      oauth.processRefreshTokenResponse(
        as,
        publicClient,
        await oauth.refreshTokenGrantRequest(
          as,
          publicClient,
          oauth.None(),
          granted.refresh_token!,
          { DPoP: handle(otherKeyPair), ...options },
        ),
      ),
    ).rejects.toMatchObject({ error: 'invalid_grant' });

    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      publicClient,
      await oauth.refreshTokenGrantRequest(
        as,
        publicClient,
        oauth.None(),
        granted.refresh_token!,
        { DPoP: dpop, ...options },
      ),
    );
    expect(refreshed.token_type).toBe('dpop');
    expect((await callMe(refreshed.access_token, dpop)).status).toBe(200);
    // The other key's handle cannot use the token: oauth4webapi reads the DPoP challenge.
    await expect(
      callMe(refreshed.access_token, handle(otherKeyPair)),
    ).rejects.toMatchObject({
      status: 401,
      cause: [
        {
          scheme: 'dpop',
          parameters: expect.objectContaining({
            error: 'invalid_token',
            algs: 'RS256 PS256 ES256 ES384 EdDSA Ed25519',
          }) as unknown,
        },
      ],
    });
  });

  it('gets a bound client_credentials token for a confidential client and calls a route with it', async () => {
    const adminToken = await passwordGrant(
      testApp,
      ADMIN.username,
      ADMIN.password,
    );
    const created = await createClientAs(testApp, adminToken, {
      name: 'o4w-dpop',
      allowedScopes: ['users:read'],
      allowedGrantTypes: ['client_credentials'],
      dpopBoundAccessTokens: true,
    });
    const client: oauth.Client = { client_id: created.id };
    const dpop = handle(keyPair, client);
    const granted = await oauth.processClientCredentialsResponse(
      as,
      client,
      await oauth.clientCredentialsGrantRequest(
        as,
        client,
        oauth.ClientSecretBasic(created.clientSecret),
        new URLSearchParams({ scope: 'users:read' }),
        { DPoP: dpop, ...options },
      ),
    );
    expect(granted.token_type).toBe('dpop');
    const response = await oauth.protectedResourceRequest(
      granted.access_token,
      'GET',
      new URL(`${baseUrl}/users`),
      new Headers(),
      null,
      { DPoP: dpop, ...options },
    );
    expect(response.status).toBe(200);
  });
});
