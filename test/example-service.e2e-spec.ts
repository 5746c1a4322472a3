import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import type { JWTPayload } from 'jose';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KeyObject } from 'node:crypto';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import request from 'supertest';
import { SigningKeysService } from '../src/oauth/keys/signing-keys.service.js';
import { passwordGrant, registerUser } from './utils/flows.js';
import { now, readServiceKey } from './utils/tokens.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp, TEST_PUBLIC_URL } from './utils/test-app.js';

interface ExampleOptions {
  issuer: string;
  audience: string;
  jwksUrl: string;
  cooldownDuration?: number;
}

/** The example is plain JavaScript for readers to copy; loaded as it runs. */
const EXAMPLE = new URL(
  '../examples/company-service/server.mjs',
  import.meta.url,
).href;

async function startExample(options: ExampleOptions): Promise<Server> {
  const { createServer } = (await import(EXAMPLE)) as {
    createServer: (options: ExampleOptions) => Server;
  };
  const server = createServer(options);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

async function stop(server: Server | undefined): Promise<void> {
  if (server === undefined) return;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** RFC 6750 §3: the example's challenges. */
const MISSING_TOKEN_CHALLENGE = 'Bearer realm="orders"';
const INVALID_TOKEN_CHALLENGE = 'Bearer realm="orders", error="invalid_token"';

describe('examples/company-service: GET /orders, verified against the JWKS', () => {
  let testApp: TestApp;
  let example: Server;
  let jwksUrl: string;
  let alice: { id: string };
  let aliceToken: string;
  /** The auth service's signing key, read from the database. */
  let serviceKey: { kid: string; privateKey: KeyObject };

  beforeAll(async () => {
    testApp = await createTestApp();
    await testApp.app.listen(0, '127.0.0.1');
    const { port } = testApp.app.getHttpServer().address() as AddressInfo;
    jwksUrl = `http://127.0.0.1:${port}/.well-known/jwks.json`;
    example = await startExample({
      // The tokens' `iss` is PUBLIC_URL, whatever address the JWKS is fetched from.
      issuer: TEST_PUBLIC_URL,
      audience: TEST_PUBLIC_URL,
      jwksUrl,
      // No pause between refetches, so the rotation test needs no 30 s wait.
      cooldownDuration: 0,
    });
    alice = await registerUser(testApp, 'alice');
    aliceToken = await passwordGrant(testApp, 'alice');
    serviceKey = await readServiceKey(testApp);
  }, 30_000);
  afterAll(async () => {
    await stop(example);
    await testApp.close();
  });

  const orders = (authorization?: string) => {
    const call = request(example).get('/orders');
    return authorization === undefined
      ? call
      : call.set('Authorization', authorization);
  };

  /** The claims the auth service puts in alice's token (RFC 9068 §2.2). */
  const aliceClaims = (): JWTPayload => ({
    ...decodeJwt(aliceToken),
    iat: now(),
    exp: now() + 300,
    jti: randomUUID(),
  });

  const sign = (
    claims: JWTPayload,
    { key = serviceKey.privateKey, kid = serviceKey.kid, typ = 'at+jwt' } = {},
  ) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', typ, kid })
      .sign(key);

  it('answers 200 to a user’s access token', async () => {
    const response = await orders(`Bearer ${aliceToken}`).expect(200);

    expect(response.body).toEqual({
      subject: alice.id,
      orders: expect.any(Array),
    });
  });

  it('RFC 6750 §3.1: answers 401 with a challenge and no error code to a request without a token', async () => {
    const response = await orders().expect(401);

    expect(response.headers['www-authenticate']).toBe(MISSING_TOKEN_CHALLENGE);
  });

  it('RFC 6750 §3.1: answers 401 invalid_token to a token that is not a JWT', async () => {
    const response = await orders('Bearer not.a.jwt').expect(401);

    expect(response.headers['www-authenticate']).toBe(INVALID_TOKEN_CHALLENGE);
  });

  it('answers 401 invalid_token to a token signed by another key under the service’s kid', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

    const response = await orders(
      `Bearer ${await sign(aliceClaims(), { key: privateKey })}`,
    ).expect(401);

    expect(response.headers['www-authenticate']).toBe(INVALID_TOKEN_CHALLENGE);
  });

  it.each([
    ['from another issuer', { iss: 'https://evil.example' }, {}],
    ['for another audience', { aud: 'https://other.example' }, {}],
    ['that has expired', { exp: now() - 120 }, {}],
    ['typed JWT, as an ID token is, not at+jwt', {}, { typ: 'JWT' }],
  ])(
    'RFC 9068 §4: answers 401 invalid_token to a token %s, though signed by the service’s key',
    async (_case, claims, header) => {
      const token = await sign({ ...aliceClaims(), ...claims }, header);

      const response = await orders(`Bearer ${token}`).expect(401);

      expect(response.headers['www-authenticate']).toBe(
        INVALID_TOKEN_CHALLENGE,
      );
    },
  );

  it('RFC 6750 §3.1: answers 403 insufficient_scope to a valid token without the profile scope', async () => {
    const token = await sign({ ...aliceClaims(), scope: 'users:read' });

    const response = await orders(`Bearer ${token}`).expect(403);

    expect(response.headers['www-authenticate']).toBe(
      'Bearer realm="orders", error="insufficient_scope", scope="profile"',
    );
  });

  it('after a key rotation, accepts tokens with the new kid (refetching the JWKS) and the old ones', async () => {
    await orders(`Bearer ${aliceToken}`).expect(200);
    const { kid } = await testApp.app.get(SigningKeysService).rotate();

    const newToken = await passwordGrant(testApp, 'alice');

    expect(decodeProtectedHeader(newToken).kid).toBe(kid);
    await orders(`Bearer ${newToken}`).expect(200);
    await orders(`Bearer ${aliceToken}`).expect(200);
  }, 30_000);

  it('answers 503, not 401, when the JWKS cannot be fetched', async () => {
    const unreachable = await startExample({
      issuer: TEST_PUBLIC_URL,
      audience: TEST_PUBLIC_URL,
      jwksUrl: 'http://127.0.0.1:1/.well-known/jwks.json',
    });
    try {
      const response = await request(unreachable)
        .get('/orders')
        .set('Authorization', `Bearer ${aliceToken}`)
        .expect(503);
      expect(response.headers['www-authenticate']).toBeUndefined();
    } finally {
      await stop(unreachable);
    }
  });
});
