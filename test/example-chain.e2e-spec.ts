import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { DpopSigner } from './utils/dpop-proofs.js';
import { dpopProof, dpopSigner } from './utils/dpop-proofs.js';
import {
  ADMIN,
  ADMIN_ENV,
  createClientAs,
  GOOD_PASSWORD,
  passwordGrant,
  registerUser,
} from './utils/flows.js';
import type { CreatedClient, TokenBody } from './utils/flows.js';
import { freePort } from './utils/processes.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp, TEST_PUBLIC_URL } from './utils/test-app.js';

const ORDERS = 'https://orders.example.test';
const BILLING = 'https://billing.example.test';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

interface VerificationOptions {
  issuer: string;
  audience: string;
  jwksUrl: string;
  publicUrl: string;
}

interface OrdersOptions extends VerificationOptions {
  scope: string;
  downstream: {
    url: string;
    resource: string;
    tokenEndpoint: string;
    clientId: string;
    clientSecret: string;
  };
}

/** The examples are plain JavaScript for readers to copy; loaded as they run. */
const example = (file: string) =>
  new URL(`../examples/company-service/${file}`, import.meta.url).href;

/** Listens on a port chosen first: the service must know its own URL, which DPoP proofs name. */
async function listen(
  create: (publicUrl: string) => Server,
): Promise<{ server: Server; url: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = create(url);
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return { server, url };
}

async function close(server: Server | undefined): Promise<void> {
  if (server === undefined) return;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/**
 * Issue 17's chain, as a platform team would run it: alice holds a
 * DPoP-bound token for the orders service; orders checks it (aud, scope,
 * DPoP) against the JWKS, exchanges it for a token to billing, and calls
 * billing, which accepts only that token and sees orders acting for alice.
 */
describe('examples/company-service: orders calls billing with an exchanged token', () => {
  let testApp: TestApp;
  let orders: { server: Server; url: string };
  let billing: { server: Server; url: string };
  let ordersClient: CreatedClient;
  let alice: { id: string };
  let key: DpopSigner;
  let aliceToken: string;
  let adminToken: string;
  let billingApiId: string;

  beforeAll(async () => {
    testApp = await createTestApp(ADMIN_ENV);
    await testApp.app.listen(0, '127.0.0.1');
    const { port } = testApp.app.getHttpServer().address() as AddressInfo;
    const auth = `http://127.0.0.1:${port}`;
    adminToken = await passwordGrant(testApp, ADMIN.username, ADMIN.password);
    const admin = (method: 'post' | 'put', path: string, body: object) =>
      testApp
        .http()
        [method](path)
        .set('Authorization', `Bearer ${adminToken}`)
        .send(body);
    const scope = (name: string) => ({
      name,
      description: name,
      roles: ['user'],
    });
    await admin('post', '/resource-servers', {
      identifier: ORDERS,
      name: 'Orders',
      // invoices:read too: what orders may pass on to billing for the user.
      scopes: [scope('orders:read'), scope('invoices:read')],
    }).expect(201);
    const billingApi = (
      await admin('post', '/resource-servers', {
        identifier: BILLING,
        name: 'Billing',
        scopes: [scope('invoices:read')],
      }).expect(201)
    ).body as { id: string };
    billingApiId = billingApi.id;
    ordersClient = await createClientAs(testApp, adminToken, {
      name: 'orders-service',
      allowedScopes: [],
      allowedGrantTypes: [TOKEN_EXCHANGE],
    });
    await admin(
      'put',
      `/resource-servers/${billingApi.id}/clients/${ordersClient.id}`,
      { scopes: ['invoices:read'], exchangeFrom: [ORDERS] },
    ).expect(200);

    const verification = {
      // The tokens' `iss` is PUBLIC_URL, whatever address the JWKS is fetched from.
      issuer: TEST_PUBLIC_URL,
      jwksUrl: `${auth}/.well-known/jwks.json`,
    };
    const { createBillingServer } = (await import(example('billing.mjs'))) as {
      createBillingServer: (options: VerificationOptions) => Server;
    };
    billing = await listen((publicUrl) =>
      createBillingServer({ ...verification, audience: BILLING, publicUrl }),
    );
    const { createServer } = (await import(example('server.mjs'))) as {
      createServer: (options: OrdersOptions) => Server;
    };
    orders = await listen((publicUrl) =>
      createServer({
        ...verification,
        audience: ORDERS,
        publicUrl,
        scope: 'orders:read',
        downstream: {
          url: billing.url,
          resource: BILLING,
          tokenEndpoint: `${auth}/auth/token`,
          clientId: ordersClient.id,
          clientSecret: ordersClient.clientSecret,
        },
      }),
    );

    alice = await registerUser(testApp, 'alice');
    key = await dpopSigner();
    const granted = await testApp
      .http()
      .post('/auth/token')
      .type('form')
      .set(
        'DPoP',
        await dpopProof(key, 'POST', `${TEST_PUBLIC_URL}/auth/token`),
      )
      .send({
        grant_type: 'password',
        username: 'alice',
        password: GOOD_PASSWORD,
        resource: ORDERS,
      })
      .expect(200);
    const body = granted.body as TokenBody;
    expect(body.token_type).toBe('DPoP');
    aliceToken = body.access_token;
  }, 30_000);
  afterAll(async () => {
    await close(orders?.server);
    await close(billing?.server);
    await testApp.close();
  });

  const withProof = async (call: request.Test, url: string, token: string) =>
    call
      .set('Authorization', `DPoP ${token}`)
      .set('DPoP', await dpopProof(key, 'GET', url, token));

  it("answers alice's orders with her invoices, which billing gave orders as orders acting for her", async () => {
    const response = await withProof(
      request(orders.server).get('/orders'),
      `${orders.url}/orders`,
      aliceToken,
    );
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      subject: alice.id,
      orders: expect.any(Array),
      invoices: {
        subject: alice.id,
        actors: [ordersClient.id],
        invoices: expect.any(Array),
      },
    });
  });

  it('billing refuses the token orders received, as DPoP or as a bearer token: it is for orders', async () => {
    const asDpop = await withProof(
      request(billing.server).get('/invoices'),
      `${billing.url}/invoices`,
      aliceToken,
    );
    expect(asDpop.status).toBe(401);
    expect(asDpop.headers['www-authenticate']).toMatch(/error="invalid_token"/);
    const asBearer = await request(billing.server)
      .get('/invoices')
      .set('Authorization', `Bearer ${aliceToken}`);
    expect(asBearer.status).toBe(401);
  });

  it("orders refuses billing's token, and its own token without the key's proof", async () => {
    const exchanged = await testApp
      .http()
      .post('/auth/token')
      .auth(ordersClient.id, ordersClient.clientSecret)
      .type('form')
      .send({
        grant_type: TOKEN_EXCHANGE,
        subject_token: aliceToken,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        resource: BILLING,
      })
      .expect(200);
    const forBilling = (exchanged.body as TokenBody).access_token;
    expect(decodeJwt(forBilling)).toMatchObject({
      aud: BILLING,
      act: { sub: ordersClient.id },
    });
    const billingTokenAtOrders = await request(orders.server)
      .get('/orders')
      .set('Authorization', `Bearer ${forBilling}`);
    expect(billingTokenAtOrders.status).toBe(401);
    // Stolen from orders' logs, alice's token is no use without her key.
    const withoutProof = await request(orders.server)
      .get('/orders')
      .set('Authorization', `DPoP ${aliceToken}`);
    expect(withoutProof.status).toBe(401);
    expect(withoutProof.headers['www-authenticate']).toMatch(
      /error="invalid_dpop_proof"/,
    );
  });

  it("orders answers 502 with billing's refusal once billing no longer lets it exchange", async () => {
    await testApp
      .http()
      .delete(`/resource-servers/${billingApiId}/clients/${ordersClient.id}`)
      .set('Authorization', `Bearer ${adminToken}`)
      .expect(204);
    const response = await withProof(
      request(orders.server).get('/orders'),
      `${orders.url}/orders`,
      aliceToken,
    );
    expect(response.status).toBe(502);
    // Billing's reason (invalid_target) goes to orders' log, not to alice.
    expect(response.body).toEqual({ error: 'billing_unavailable' });
  });
});
