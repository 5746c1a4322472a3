import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { passwordGrant, registerUser, tokenClient } from './utils/flows.js';
import type { TokenBody } from './utils/flows.js';
import { freePort } from './utils/processes.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp, TEST_PUBLIC_URL } from './utils/test-app.js';
import type { DpopSigner } from './utils/dpop-proofs.js';
import { dpopProof, dpopSigner } from './utils/dpop-proofs.js';

interface ExampleOptions {
  issuer: string;
  audience: string;
  jwksUrl: string;
  publicUrl: string;
}

/** The example is plain JavaScript for readers to copy; loaded as it runs. */
const EXAMPLE = new URL(
  '../examples/company-service/server.mjs',
  import.meta.url,
).href;

const DPOP_CHALLENGE =
  'DPoP realm="orders", algs="RS256 PS256 ES256 ES384 EdDSA Ed25519"';

/** RFC 9449 §7.1 in another service: examples/company-service checks DPoP with jose alone. */
describe('examples/company-service: GET /orders with a DPoP-bound token', () => {
  let testApp: TestApp;
  let example: Server;
  let ordersUrl: string;
  let key: DpopSigner;
  let bound: TokenBody;
  const { tokenRequest } = tokenClient(() => testApp);

  beforeAll(async () => {
    testApp = await createTestApp();
    await testApp.app.listen(0, '127.0.0.1');
    const { port } = testApp.app.getHttpServer().address() as AddressInfo;
    const { createServer } = (await import(EXAMPLE)) as {
      createServer: (options: ExampleOptions) => Server;
    };
    // The example's own URL, which the proofs name, is known before it listens.
    const examplePort = await freePort();
    ordersUrl = `http://127.0.0.1:${examplePort}/orders`;
    example = createServer({
      issuer: TEST_PUBLIC_URL,
      audience: TEST_PUBLIC_URL,
      jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`,
      publicUrl: `http://127.0.0.1:${examplePort}`,
    });
    example.listen(examplePort, '127.0.0.1');
    await once(example, 'listening');
    await registerUser(testApp, 'alice');
    key = await dpopSigner();
    const granted = await tokenRequest({
      grant_type: 'password',
      username: 'alice',
      password: 'correct horse battery staple',
    }).set(
      'DPoP',
      await dpopProof(key, 'POST', `${TEST_PUBLIC_URL}/auth/token`),
    );
    expect(granted.status).toBe(200);
    bound = granted.body as TokenBody;
    expect(bound.token_type).toBe('DPoP');
  }, 30_000);
  afterAll(async () => {
    example.closeAllConnections();
    await new Promise((resolve) => example.close(resolve));
    await testApp.close();
  });

  const orders = (authorization: string, dpop?: string) => {
    const call = request(example)
      .get('/orders')
      .set('Authorization', authorization);
    return dpop === undefined ? call : call.set('DPoP', dpop);
  };

  it('answers 200 to the token with a proof of its key', async () => {
    const response = await orders(
      `DPoP ${bound.access_token}`,
      await dpopProof(key, 'GET', ordersUrl, bound.access_token),
    );
    expect(response.status).toBe(200);
  });

  it('§7.2: refuses the bound token as a bearer token', async () => {
    const response = await orders(`Bearer ${bound.access_token}`);
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe(
      'Bearer realm="orders", error="invalid_token"',
    );
  });

  it.each([
    ['no proof', () => Promise.resolve(undefined)],
    [
      'a proof for another URL',
      () =>
        dpopProof(key, 'GET', 'http://elsewhere/orders', bound.access_token),
    ],
    [
      'a proof for another method',
      () => dpopProof(key, 'POST', ordersUrl, bound.access_token),
    ],
    ['a proof without ath', () => dpopProof(key, 'GET', ordersUrl)],
    [
      "a proof for another token's ath",
      () => dpopProof(key, 'GET', ordersUrl, 'another.access.token'),
    ],
  ])('answers 401 invalid_dpop_proof to %s', async (_what, makeProof) => {
    const response = await orders(
      `DPoP ${bound.access_token}`,
      await makeProof(),
    );
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe(
      `${DPOP_CHALLENGE}, error="invalid_dpop_proof"`,
    );
  });

  it('answers 401 invalid_dpop_proof to a replayed proof', async () => {
    const once = await dpopProof(key, 'GET', ordersUrl, bound.access_token);
    expect((await orders(`DPoP ${bound.access_token}`, once)).status).toBe(200);
    const replayed = await orders(`DPoP ${bound.access_token}`, once);
    expect(replayed.status).toBe(401);
    expect(replayed.headers['www-authenticate']).toBe(
      `${DPOP_CHALLENGE}, error="invalid_dpop_proof"`,
    );
  });

  it('answers 401 invalid_token to a proof of another key, and to a bearer token under DPoP', async () => {
    const thief = await dpopSigner();
    const stolen = await orders(
      `DPoP ${bound.access_token}`,
      await dpopProof(thief, 'GET', ordersUrl, bound.access_token),
    );
    expect(stolen.status).toBe(401);
    expect(stolen.headers['www-authenticate']).toBe(
      `${DPOP_CHALLENGE}, error="invalid_token"`,
    );
    const bearer = await passwordGrant(testApp, 'alice');
    const unbound = await orders(
      `DPoP ${bearer}`,
      await dpopProof(key, 'GET', ordersUrl, bearer),
    );
    expect(unbound.status).toBe(401);
    expect(unbound.headers['www-authenticate']).toBe(
      `${DPOP_CHALLENGE}, error="invalid_token"`,
    );
  });
});
