import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CryptoKey, JWK, JWTPayload } from 'jose';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { KeyObject } from 'node:crypto';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { DataSource } from 'typeorm';
import { ClientAssertionJti } from '../src/oauth/client-assertion-jti.entity.js';
import { ClientAssertionJtis } from '../src/oauth/client-assertion-jtis.service.js';
import { expectOAuthErrorBody } from './utils/expectations.js';
import {
  ADMIN,
  ADMIN_ENV,
  GOOD_PASSWORD,
  passwordGrant,
  registerUser,
} from './utils/flows.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp, TEST_PUBLIC_URL } from './utils/test-app.js';
import { freePort } from './utils/processes.js';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const TOKEN_ENDPOINT = `${TEST_PUBLIC_URL}/auth/token`;

interface KeyPair {
  kid: string;
  alg: string;
  privateKey: CryptoKey | KeyObject;
  publicJwk: JWK;
}

/** A WebCrypto key pair, as oauth4webapi needs it. */
type WebCryptoKeyPair = KeyPair & { privateKey: CryptoKey };

async function keyPair(kid: string, alg = 'ES256'): Promise<WebCryptoKeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, {
    extractable: true,
  });
  return {
    kid,
    alg,
    privateKey,
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg },
  };
}

interface KeyClient {
  id: string;
  tokenEndpointAuthMethod: string;
  clientSecret?: string;
  jwks: { keys: JWK[] };
}

/** RFC 7523 §2.2 and §3: the assertion a client signs for each request. */
function assertion(
  clientId: string,
  key: KeyPair,
  claims: JWTPayload = {},
  header: Record<string, unknown> = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: clientId,
    sub: clientId,
    aud: TEST_PUBLIC_URL,
    jti: randomUUID(),
    iat: now,
    exp: now + 60,
    ...claims,
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
    .sign(key.privateKey);
}

describe('private_key_jwt client authentication (RFC 7523 §2.2)', () => {
  let testApp: TestApp;
  let adminToken: string;
  let signer: KeyPair;
  let other: KeyPair;
  let client: KeyClient;
  let otherClient: KeyClient;

  beforeAll(async () => {
    testApp = await createTestApp(ADMIN_ENV);
    adminToken = await passwordGrant(testApp, ADMIN.username, ADMIN.password);
    signer = await keyPair('signer-1');
    other = await keyPair('other-1');
    client = await registerWithKeys('billing', [signer.publicJwk]);
    otherClient = await registerWithKeys('other', [other.publicJwk]);
  });
  afterAll(() => testApp.close());

  const register = (body: Record<string, unknown>) =>
    testApp
      .http()
      .post('/clients')
      .set('Authorization', `Bearer ${adminToken}`)
      .send({
        allowedScopes: ['users:read', 'profile'],
        allowedGrantTypes: ['client_credentials', 'password'],
        ...body,
      });

  async function registerWithKeys(
    name: string,
    keys: JWK[],
  ): Promise<KeyClient> {
    const response = await register({
      name,
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwks: { keys },
    }).expect(201);
    return response.body as KeyClient;
  }

  const tokenWith = (form: Record<string, string>) =>
    testApp
      .http()
      .post('/auth/token')
      .type('form')
      .send({ grant_type: 'client_credentials', ...form });

  const withAssertion = (signed: string) => ({
    client_assertion_type: ASSERTION_TYPE,
    client_assertion: signed,
  });

  async function expectRefused(
    form: Record<string, string>,
    description: RegExp,
  ) {
    const response = await tokenWith(form).expect(401);
    expectOAuthErrorBody(response, 401, 'invalid_client');
    expect(
      (response.body as { error_description: string }).error_description,
    ).toMatch(description);
  }

  describe('registration', () => {
    it('stores the keys, each pinned to its alg, and gives no secret', async () => {
      const rsa = await keyPair('rsa-1', 'PS256');
      const { alg: _alg, ...withoutAlg } = (await keyPair('ec-1')).publicJwk;
      const created = await registerWithKeys('mixed', [
        rsa.publicJwk,
        withoutAlg,
      ]);
      expect(created.tokenEndpointAuthMethod).toBe('private_key_jwt');
      expect(created.clientSecret).toBeUndefined();
      expect(created.jwks.keys.map((key) => [key.kid, key.alg])).toEqual([
        ['rsa-1', 'PS256'],
        ['ec-1', 'ES256'],
      ]);
    });

    it('refuses private key members', async () => {
      const { privateKey } = await generateKeyPair('ES256', {
        extractable: true,
      });
      const privateJwk = { ...(await exportJWK(privateKey)), kid: 'leaked' };
      const response = await register({
        name: 'leaky',
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwks: { keys: [privateJwk] },
      }).expect(400);
      expect(JSON.stringify(response.body)).toMatch(
        /jwks\.keys\[0\] must be a public key: remove its private or symmetric members \(d\)/,
      );
    });

    it.each([
      [
        'a symmetric key',
        { kty: 'oct', kid: 's', k: 'c2VjcmV0' },
        /remove .*\(k\)/,
      ],
      [
        'an unknown kty',
        { kty: 'XYZ', kid: 'x' },
        /kty must be RSA, EC or OKP/,
      ],
      [
        'an alg not the key\u2019s',
        { kty: 'EC', crv: 'P-256', kid: 'e', alg: 'RS256', x: 'AA', y: 'AA' },
        /alg must be ES256/,
      ],
      [
        'a key without kid',
        { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' },
        /kid must be/,
      ],
    ])('refuses %s', async (_what, jwk, message) => {
      const response = await register({
        name: 'bad',
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwks: { keys: [jwk] },
      }).expect(400);
      expect(JSON.stringify(response.body)).toMatch(message);
    });

    it('refuses an RSA key under 2048 bits', async () => {
      // jose will not make one: node:crypto will.
      const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
      const response = await register({
        name: 'weak',
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwks: {
          keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'weak' }],
        },
      }).expect(400);
      expect(JSON.stringify(response.body)).toMatch(/at least 2048 bits/);
    });

    it('refuses two keys with one kid', async () => {
      const second = await keyPair(signer.kid);
      const response = await register({
        name: 'twins',
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwks: { keys: [signer.publicJwk, second.publicJwk] },
      }).expect(400);
      expect(JSON.stringify(response.body)).toMatch(
        /keys\[1\]\.kid is the kid of another key/,
      );
    });

    it('refuses private_key_jwt without jwks, and jwks for a client with a secret', async () => {
      await register({
        name: 'x',
        tokenEndpointAuthMethod: 'private_key_jwt',
      }).expect(400);
      await register({ name: 'x', jwks: { keys: [signer.publicJwk] } }).expect(
        400,
      );
    });
  });

  it('grants client_credentials to a client that signs an assertion', async () => {
    const response = await tokenWith(
      withAssertion(await assertion(client.id, signer)),
    ).expect(200);
    expect(response.body).toMatchObject({
      token_type: 'Bearer',
      scope: 'users:read profile',
    });
  });

  it('accepts RSA (PS256) and Ed25519 (EdDSA) keys', async () => {
    // A node:crypto key, not WebCrypto's: one RSA key that can sign both PS256 and RS256.
    const rsaPair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rsa: KeyPair = {
      kid: 'rsa-pss',
      alg: 'PS256',
      privateKey: rsaPair.privateKey,
      publicJwk: {
        ...rsaPair.publicKey.export({ format: 'jwk' }),
        kid: 'rsa-pss',
        alg: 'PS256',
      },
    };
    const ed = await keyPair('ed', 'EdDSA');
    const both = await registerWithKeys('rsa-and-ed', [
      rsa.publicJwk,
      ed.publicJwk,
    ]);
    await tokenWith(withAssertion(await assertion(both.id, rsa))).expect(200);
    await tokenWith(withAssertion(await assertion(both.id, ed))).expect(200);
    // An RSA key pinned to PS256 refuses RS256, which the same key could sign.
    await expectRefused(
      withAssertion(await assertion(both.id, { ...rsa, alg: 'RS256' })),
      /must be signed with PS256/,
    );
  });

  it('accepts the token endpoint as aud, in an array, and a matching client_id', async () => {
    await tokenWith({
      client_id: client.id,
      ...withAssertion(
        await assertion(client.id, signer, {
          aud: ['https://elsewhere', TOKEN_ENDPOINT],
        }),
      ),
    }).expect(200);
  });

  describe('refuses with invalid_client', () => {
    it('a wrong signature', async () => {
      const signed = await assertion(client.id, signer);
      const forged = await assertion(client.id, other, {}, { kid: signer.kid });
      const [header, payload] = signed.split('.');
      await expectRefused(
        withAssertion(`${header}.${payload}.${forged.split('.')[2]}`),
        /signature does not verify/,
      );
    });

    it("another client's key", async () => {
      await expectRefused(
        withAssertion(await assertion(client.id, other)),
        /No key registered for this client/,
      );
    });

    it("an alg not the key's", async () => {
      const p384 = await keyPair(signer.kid, 'ES384');
      await expectRefused(
        withAssertion(await assertion(client.id, p384)),
        /must be signed with ES256/,
      );
    });

    it('alg none and HS256', async () => {
      const encode = (value: object) =>
        Buffer.from(JSON.stringify(value)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      const claims = encode({
        iss: client.id,
        sub: client.id,
        aud: TEST_PUBLIC_URL,
        jti: randomUUID(),
        exp: now + 60,
      });
      await expectRefused(
        withAssertion(`${encode({ alg: 'none', kid: signer.kid })}.${claims}.`),
        /must be signed with ES256/,
      );
      const hmac = await new SignJWT({ sub: client.id })
        .setProtectedHeader({ alg: 'HS256', kid: signer.kid })
        .setIssuer(client.id)
        .sign(new TextEncoder().encode('x'.repeat(32)));
      await expectRefused(withAssertion(hmac), /must be signed with ES256/);
    });

    it('an expired assertion', async () => {
      const now = Math.floor(Date.now() / 1000);
      await expectRefused(
        withAssertion(
          await assertion(client.id, signer, {
            iat: now - 600,
            exp: now - 120,
          }),
        ),
        /has expired/,
      );
    });

    it('an exp more than 5 minutes ahead', async () => {
      const now = Math.floor(Date.now() / 1000);
      await expectRefused(
        withAssertion(await assertion(client.id, signer, { exp: now + 3600 })),
        /at most 300 seconds ahead/,
      );
    });

    it('a wrong aud', async () => {
      await expectRefused(
        withAssertion(
          await assertion(client.id, signer, { aud: 'https://other.example' }),
        ),
        /another audience/,
      );
    });

    it('sub other than iss', async () => {
      await expectRefused(
        withAssertion(
          await assertion(client.id, signer, { sub: otherClient.id }),
        ),
        /sub equal to iss/,
      );
    });

    it('a replayed jti', async () => {
      const signed = await assertion(client.id, signer);
      await tokenWith(withAssertion(signed)).expect(200);
      await expectRefused(withAssertion(signed), /already used/);
    });

    it('a client_id other than iss', async () => {
      await expectRefused(
        {
          client_id: otherClient.id,
          ...withAssertion(await assertion(client.id, signer)),
        },
        /client_id is not the iss/,
      );
    });

    it('a secret for a client with keys', async () => {
      const response = await tokenWith({
        client_id: client.id,
        client_secret: 'guess',
      }).expect(401);
      expectOAuthErrorBody(response, 401, 'invalid_client');
    });

    it('an assertion from a client with a secret', async () => {
      const secretClient = (await register({ name: 'secretive' }).expect(201))
        .body as KeyClient;
      await expectRefused(
        withAssertion(await assertion(secretClient.id, signer)),
        /No key registered for this client/,
      );
    });

    it('and audits a failure with its method and reason', async () => {
      const audited = await registerWithKeys('audited', [signer.publicJwk]);
      await expectRefused(
        withAssertion(
          await assertion(audited.id, signer, { aud: 'https://other.example' }),
        ),
        /another audience/,
      );
      const events = await testApp
        .http()
        .get('/audit-events')
        .query({ type: 'client_authentication.failed' })
        .set('Authorization', `Bearer ${adminToken}`)
        .expect(200);
      const rows = (
        events.body as {
          items: { clientId: string; details: Record<string, unknown> }[];
        }
      ).items.filter((event) => event.clientId === audited.id);
      expect(rows.map((event) => event.details)).toEqual([
        { method: 'private_key_jwt', reason: 'claim_aud', attempts: 1 },
      ]);
    });
  });

  it('forgets used jtis once their assertions expired', async () => {
    const used = testApp.app.get(DataSource).getRepository(ClientAssertionJti);
    await tokenWith(withAssertion(await assertion(client.id, signer))).expect(
      200,
    );
    expect(await used.count()).toBeGreaterThan(0);
    await testApp.app
      .get(ClientAssertionJtis)
      .removeExpired(new Date(Date.now() + 10 * 60_000));
    expect(await used.count()).toBe(0);
  });

  it('refuses two methods at once with invalid_request', async () => {
    const response = await tokenWith(
      withAssertion(await assertion(client.id, signer)),
    )
      .auth(client.id, 'secret')
      .expect(400);
    expectOAuthErrorBody(response, 400, 'invalid_request');
  });

  it('authenticates introspection and revocation', async () => {
    await registerUser(testApp, 'alice');
    const issued = await tokenWith({
      grant_type: 'password',
      username: 'alice',
      password: GOOD_PASSWORD,
      scope: 'profile',
      ...withAssertion(await assertion(client.id, signer)),
    }).expect(200);
    const { access_token: token, refresh_token: refreshToken } =
      issued.body as { access_token: string; refresh_token: string };
    const introspect = async () =>
      testApp
        .http()
        .post('/auth/introspect')
        .type('form')
        .send({ token, ...withAssertion(await assertion(client.id, signer)) })
        .expect(200);
    expect((await introspect()).body).toMatchObject({
      active: true,
      client_id: client.id,
      username: 'alice',
    });
    await testApp
      .http()
      .post('/auth/revoke')
      .type('form')
      .send({
        token: refreshToken,
        ...withAssertion(await assertion(client.id, signer)),
      })
      .expect(200);
    // The revoked refresh token ended the session, and its access token with it.
    expect((await introspect()).body).toEqual({ active: false });
  });

  it('rotates keys without downtime: old and new, then the new alone', async () => {
    const old = await keyPair('rotating-old');
    const next = await keyPair('rotating-new');
    const rotating = await registerWithKeys('rotating', [old.publicJwk]);
    const replace = (keys: JWK[]) =>
      testApp
        .http()
        .put(`/clients/${rotating.id}/jwks`)
        .set('Authorization', `Bearer ${adminToken}`)
        .send({ keys });
    await replace([old.publicJwk, next.publicJwk]).expect(200);
    await tokenWith(withAssertion(await assertion(rotating.id, old))).expect(
      200,
    );
    await tokenWith(withAssertion(await assertion(rotating.id, next))).expect(
      200,
    );
    const replaced = await replace([next.publicJwk]).expect(200);
    expect(
      (replaced.body as KeyClient).jwks.keys.map((key) => key.kid),
    ).toEqual(['rotating-new']);
    await expectRefused(
      withAssertion(await assertion(rotating.id, old)),
      /No key registered/,
    );
    await tokenWith(withAssertion(await assertion(rotating.id, next))).expect(
      200,
    );
    // Keys are the same checks as at registration; a client with a secret has none to replace.
    await replace([{ ...next.publicJwk, d: 'AA' }]).expect(400);
    const secretClient = (await register({ name: 'no-keys' }).expect(201))
      .body as KeyClient;
    await testApp
      .http()
      .put(`/clients/${secretClient.id}/jwks`)
      .set('Authorization', `Bearer ${adminToken}`)
      .send({ keys: [next.publicJwk] })
      .expect(409);
  });

  it('advertises private_key_jwt and its algorithms (RFC 8414)', async () => {
    const metadata = (
      await testApp
        .http()
        .get('/.well-known/oauth-authorization-server')
        .expect(200)
    ).body as Record<string, string[]>;
    for (const endpoint of ['token', 'revocation', 'introspection']) {
      expect(metadata[`${endpoint}_endpoint_auth_methods_supported`]).toContain(
        'private_key_jwt',
      );
      expect(
        metadata[`${endpoint}_endpoint_auth_signing_alg_values_supported`],
      ).toEqual(['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA', 'Ed25519']);
    }
  });
});

/** The same flows driven by a strict client written elsewhere: panva's oauth4webapi. */
describe('private_key_jwt with oauth4webapi', () => {
  let testApp: TestApp;
  let baseUrl: string;
  let as: oauth.AuthorizationServer;
  let clientId: string;
  let signer: WebCryptoKeyPair;
  const options = { [oauth.allowInsecureRequests]: true };

  beforeAll(async () => {
    // oauth4webapi insists that the issuer is the address it reaches: choose the port first.
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    testApp = await createTestApp({ ...ADMIN_ENV, PUBLIC_URL: baseUrl });
    await testApp.app.listen({ port, host: '127.0.0.1' });
    const adminToken = await passwordGrant(
      testApp,
      ADMIN.username,
      ADMIN.password,
    );
    signer = await keyPair('o4w-1', 'EdDSA');
    const created = await testApp
      .http()
      .post('/clients')
      .set('Authorization', `Bearer ${adminToken}`)
      .send({
        name: 'o4w',
        allowedScopes: ['users:read', 'profile'],
        allowedGrantTypes: ['client_credentials', 'password', 'refresh_token'],
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwks: { keys: [signer.publicJwk] },
      })
      .expect(201);
    clientId = (created.body as KeyClient).id;
    const issuer = new URL(baseUrl);
    as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...options }),
    );
  });
  afterAll(() => testApp.close());

  const authentication = () =>
    oauth.PrivateKeyJwt({ key: signer.privateKey, kid: signer.kid });

  it('discovers private_key_jwt in the metadata', () => {
    expect(as.token_endpoint_auth_methods_supported).toContain(
      'private_key_jwt',
    );
    expect(as.token_endpoint_auth_signing_alg_values_supported).toContain(
      'EdDSA',
    );
  });

  const client = (): oauth.Client => ({ client_id: clientId });

  const introspect = async (token: string) =>
    oauth.processIntrospectionResponse(
      as,
      client(),
      await oauth.introspectionRequest(
        as,
        client(),
        authentication(),
        token,
        options,
      ),
    );

  it('gets a client_credentials token and introspects it', async () => {
    const granted = await oauth.processClientCredentialsResponse(
      as,
      client(),
      await oauth.clientCredentialsGrantRequest(
        as,
        client(),
        authentication(),
        new URLSearchParams({ scope: 'users:read' }),
        options,
      ),
    );
    expect(granted.token_type).toBe('bearer');
    expect(await introspect(granted.access_token)).toMatchObject({
      active: true,
      client_id: clientId,
      scope: 'users:read',
    });
  });

  it("revokes a user's refresh token, ending the session it began", async () => {
    await registerUser(testApp, 'bob');
    const granted = await oauth.processGenericTokenEndpointResponse(
      as,
      client(),
      await oauth.genericTokenEndpointRequest(
        as,
        client(),
        authentication(),
        'password',
        { username: 'bob', password: GOOD_PASSWORD, scope: 'profile' },
        options,
      ),
    );
    expect(await introspect(granted.access_token)).toMatchObject({
      active: true,
      username: 'bob',
    });
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(
        as,
        client(),
        authentication(),
        granted.refresh_token!,
        options,
      ),
    );
    expect(await introspect(granted.access_token)).toEqual({ active: false });
    await expect(
      oauth.processRefreshTokenResponse(
        as,
        client(),
        await oauth.refreshTokenGrantRequest(
          as,
          client(),
          authentication(),
          granted.refresh_token!,
          options,
        ),
      ),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
  });
});
