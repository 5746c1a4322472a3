import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { expectInvalidToken, expectOAuthError } from './utils/expectations.js';
import {
  ADMIN,
  ADMIN_ENV,
  createClientAs,
  GOOD_PASSWORD,
  passwordGrant,
  registerUser,
} from './utils/flows.js';
import type { CreatedClient, TokenBody } from './utils/flows.js';
import { appForOauth4webapi, LOOPBACK } from './utils/oauth4webapi.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp, TEST_PUBLIC_URL } from './utils/test-app.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

const STOREFRONT = 'https://storefront.example.test';
const BILLING = 'https://billing.example.test';
const LEDGER = 'https://ledger.example.test';

const scope = (name: string, roles = ['user']) => ({
  name,
  description: `${name}, for tests.`,
  roles,
});

/** The three APIs of a call chain: a storefront calls billing, billing calls the ledger. */
const APIS = [
  {
    identifier: STOREFRONT,
    name: 'Storefront',
    scopes: [scope('orders:read'), scope('invoices:read')],
  },
  {
    identifier: BILLING,
    name: 'Billing',
    scopes: [scope('invoices:read'), scope('invoices:write', ['admin'])],
  },
  { identifier: LEDGER, name: 'Ledger', scopes: [scope('invoices:read')] },
];

interface Api {
  id: string;
  identifier: string;
}

/** RFC 8707 §2 and RFC 8693 §2.1: a form whose fields may repeat. */
function form(fields: Record<string, string | string[]>): string {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields))
    for (const one of Array.isArray(value) ? value : [value])
      body.append(name, one);
  return body.toString();
}

describe('token exchange for call chains (RFC 8693)', () => {
  let testApp: TestApp;
  let adminToken: string;
  const apis = new Map<string, Api>();
  /** The storefront's backend: receives users' storefront tokens, calls billing. */
  let storefront: CreatedClient;
  /** Billing's backend: receives exchanged billing tokens, calls the ledger. */
  let billing: CreatedClient;
  /** A client the billing API has not let exchange anything. */
  let outsider: CreatedClient;
  /** The ledger's gateway, which introspects what it receives. */
  let ledgerGateway: CreatedClient;

  beforeAll(async () => {
    testApp = await createTestApp(ADMIN_ENV);
    adminToken = await passwordGrant(testApp, ADMIN.username, ADMIN.password);
    await registerUser(testApp, 'alice');
    for (const api of APIS) {
      const created = await testApp
        .http()
        .post('/resource-servers')
        .set('Authorization', `Bearer ${adminToken}`)
        .send(api)
        .expect(201);
      apis.set(api.identifier, created.body as Api);
    }
    const exchanger = (name: string) =>
      createClientAs(testApp, adminToken, {
        name,
        allowedScopes: [],
        allowedGrantTypes: [TOKEN_EXCHANGE, 'client_credentials'],
      });
    storefront = await exchanger('storefront');
    billing = await exchanger('billing');
    outsider = await exchanger('outsider');
    ledgerGateway = await createClientAs(testApp, adminToken, {
      name: 'ledger-gateway',
      allowedScopes: [],
      allowedGrantTypes: [],
    });
    await allow(BILLING, storefront, {
      scopes: ['invoices:read', 'invoices:write'],
      exchangeFrom: [STOREFRONT],
    }).expect(200);
    await allow(LEDGER, billing, {
      scopes: ['invoices:read'],
      exchangeFrom: [BILLING],
    }).expect(200);
    await allow(BILLING, outsider, { scopes: ['invoices:read'] }).expect(200);
  });
  afterAll(() => testApp.close());

  function allow(
    identifier: string,
    client: CreatedClient,
    body: Record<string, unknown>,
  ) {
    return testApp
      .http()
      .put(`/resource-servers/${apis.get(identifier)!.id}/clients/${client.id}`)
      .set('Authorization', `Bearer ${adminToken}`)
      .send(body);
  }

  const token = (
    client: CreatedClient | null,
    fields: Record<string, string | string[]>,
  ) => {
    const request = testApp.http().post('/auth/token').type('form');
    if (client) request.auth(client.id, client.clientSecret);
    return request.send(form(fields));
  };

  /** Alice's session at the storefront: what the storefront's backend receives. */
  const storefrontLogin = async (extra: Record<string, string> = {}) =>
    (
      await token(null, {
        grant_type: 'password',
        username: 'alice',
        password: GOOD_PASSWORD,
        resource: STOREFRONT,
        ...extra,
      }).expect(200)
    ).body as TokenBody;

  const exchange = (
    client: CreatedClient | null,
    subjectToken: string,
    extra: Record<string, string | string[]> = { resource: BILLING },
  ) =>
    token(client, {
      grant_type: TOKEN_EXCHANGE,
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN,
      ...extra,
    });

  const introspect = async (accessToken: string) =>
    (
      await testApp
        .http()
        .post('/auth/introspect')
        .auth(ledgerGateway.id, ledgerGateway.clientSecret)
        .type('form')
        .send({ token: accessToken })
        .expect(200)
    ).body as Record<string, unknown>;

  describe('a delegated token for the next API', () => {
    it('carries act naming the calling client, the user as sub, the target as its only aud, and the shared scopes', async () => {
      const subject = await storefrontLogin();
      const response = await exchange(storefront, subject.access_token).expect(
        200,
      );
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.body).toEqual({
        access_token: expect.any(String),
        issued_token_type: ACCESS_TOKEN,
        token_type: 'Bearer',
        expires_in: expect.any(Number),
        scope: 'invoices:read',
      });
      const before = decodeJwt(subject.access_token);
      const exchanged = decodeJwt(response.body.access_token as string);
      expect(exchanged).toMatchObject({
        aud: BILLING,
        sub: before.sub,
        sid: before.sid,
        client_id: storefront.id,
        scope: 'invoices:read',
        act: { sub: storefront.id },
      });
      // It does not outlive the token it came from.
      expect(exchanged.exp).toBeLessThanOrEqual(before.exp!);
      expect(
        await introspect(response.body.access_token as string),
      ).toMatchObject({
        active: true,
        aud: BILLING,
        username: 'alice',
        client_id: storefront.id,
        act: { sub: storefront.id },
      });
    });

    it('works only at its target: another API refuses its aud, and this service refuses it too', async () => {
      const subject = await storefrontLogin();
      const exchanged = (
        await exchange(storefront, subject.access_token).expect(200)
      ).body.access_token as string;
      const jwks = createLocalJWKSet(
        (await testApp.http().get('/.well-known/jwks.json').expect(200)).body,
      );
      const checks = { issuer: TEST_PUBLIC_URL, typ: 'at+jwt' };
      await expect(
        jwtVerify(exchanged, jwks, { ...checks, audience: BILLING }),
      ).resolves.toBeDefined();
      for (const other of [STOREFRONT, LEDGER])
        await expect(
          jwtVerify(exchanged, jwks, { ...checks, audience: other }),
        ).rejects.toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
      expectInvalidToken(
        await testApp
          .http()
          .get('/users/me')
          .set('Authorization', `Bearer ${exchanged}`),
        '/users/me',
      );
    });

    it('nests act for a longer chain: the ledger sees billing acting for the storefront acting for alice', async () => {
      const subject = await storefrontLogin();
      const forBilling = (
        await exchange(storefront, subject.access_token).expect(200)
      ).body.access_token as string;
      const forLedger = await exchange(billing, forBilling, {
        resource: LEDGER,
      }).expect(200);
      expect(decodeJwt(forLedger.body.access_token as string)).toMatchObject({
        aud: LEDGER,
        sub: decodeJwt(subject.access_token).sub,
        client_id: billing.id,
        scope: 'invoices:read',
        act: { sub: billing.id, act: { sub: storefront.id } },
      });
    });

    it('accepts the target as audience (RFC 8693) as well as resource', async () => {
      const subject = await storefrontLogin();
      const response = await exchange(storefront, subject.access_token, {
        audience: BILLING,
      }).expect(200);
      expect(decodeJwt(response.body.access_token as string).aud).toBe(BILLING);
    });

    it("accepts the calling client's own token as actor_token, and refuses another's", async () => {
      const subject = await storefrontLogin();
      const own = async (client: CreatedClient) =>
        (await token(client, { grant_type: 'client_credentials' }).expect(200))
          .body.access_token as string;
      await exchange(storefront, subject.access_token, {
        resource: BILLING,
        actor_token: await own(storefront),
        actor_token_type: ACCESS_TOKEN,
      }).expect(200);
      expectOAuthError(
        await exchange(storefront, subject.access_token, {
          resource: BILLING,
          actor_token: await own(billing),
          actor_token_type: ACCESS_TOKEN,
        }),
        400,
        'invalid_request',
      );
    });

    it('is audited, with the chain of actors', async () => {
      const subject = await storefrontLogin();
      await exchange(storefront, subject.access_token).expect(200);
      const events = await testApp
        .http()
        .get('/audit-events?type=token.exchanged')
        .set('Authorization', `Bearer ${adminToken}`)
        .expect(200);
      expect(events.body.items[0]).toMatchObject({
        type: 'token.exchanged',
        username: 'alice',
        clientId: storefront.id,
        details: {
          sessionId: decodeJwt(subject.access_token).sid,
          from: STOREFRONT,
          resource: BILLING,
          scope: 'invoices:read',
          mode: 'delegation',
          actors: [storefront.id],
        },
      });
    });
  });

  describe('scopes', () => {
    it("are no wider than the subject token's: a scope it lacks is invalid_scope", async () => {
      const narrow = await storefrontLogin({ scope: 'orders:read' });
      expectOAuthError(
        await exchange(storefront, narrow.access_token),
        400,
        'invalid_scope',
      );
      const subject = await storefrontLogin();
      // invoices:write: the API lets the storefront have it, but alice's token and roles do not.
      expectOAuthError(
        await exchange(storefront, subject.access_token, {
          resource: BILLING,
          scope: 'invoices:write',
        }),
        400,
        'invalid_scope',
      );
    });
  });

  describe('the subject session', () => {
    it('once ended, can be exchanged no more, and what was exchanged from it stops', async () => {
      const subject = await storefrontLogin();
      const exchanged = (
        await exchange(storefront, subject.access_token).expect(200)
      ).body.access_token as string;
      // Alice signs out: her refresh token is revoked, ending the session.
      await testApp
        .http()
        .post('/auth/revoke')
        .type('form')
        .send({ token: subject.refresh_token })
        .expect(200);
      expectOAuthError(
        await exchange(storefront, subject.access_token),
        400,
        'invalid_request',
      );
      expect(await introspect(exchanged)).toEqual({ active: false });
    });
  });

  describe('the exchanging client', () => {
    /** A client that may exchange storefront tokens for billing ones, delegating or impersonating. */
    const newExchanger = async (name: string, impersonation = false) => {
      const client = await createClientAs(testApp, adminToken, {
        name,
        allowedScopes: [],
        allowedGrantTypes: [TOKEN_EXCHANGE],
      });
      await allow(BILLING, client, {
        scopes: ['invoices:read'],
        exchangeFrom: [STOREFRONT],
        impersonation,
      }).expect(200);
      return client;
    };
    const exchangedBy = async (client: CreatedClient) => {
      const subject = await storefrontLogin();
      return (await exchange(client, subject.access_token).expect(200)).body
        .access_token as string;
    };

    it.each([
      ['delegated (act)', false],
      ['impersonated (no act)', true],
    ])(
      'once the API no longer lets it exchange, what it exchanged is inactive: %s',
      async (_case, impersonation) => {
        const client = await newExchanger(
          `exchanger-${String(impersonation)}`,
          impersonation,
        );
        const exchanged = await exchangedBy(client);
        expect(await introspect(exchanged)).toMatchObject({ active: true });
        // Still let in for its own tokens, but no longer to exchange.
        await allow(BILLING, client, {
          scopes: ['invoices:read'],
          exchangeFrom: [],
        }).expect(200);
        expect(await introspect(exchanged)).toEqual({ active: false });
      },
    );

    it('once deleted, what it exchanged is inactive', async () => {
      const client = await newExchanger('short-lived-exchanger', true);
      const exchanged = await exchangedBy(client);
      await testApp
        .http()
        .delete(`/clients/${client.id}`)
        .set('Authorization', `Bearer ${adminToken}`)
        .expect(204);
      expect(await introspect(exchanged)).toEqual({ active: false });
    });
  });

  describe('revoking an exchanged token (RFC 7009)', () => {
    it("answers 200 and ends no session: alice's refresh at the public client still works", async () => {
      const subject = await storefrontLogin();
      const exchanged = (
        await exchange(storefront, subject.access_token).expect(200)
      ).body.access_token as string;
      await testApp
        .http()
        .post('/auth/revoke')
        .auth(storefront.id, storefront.clientSecret)
        .type('form')
        .send({ token: exchanged })
        .expect(200);
      await token(null, {
        grant_type: 'refresh_token',
        refresh_token: subject.refresh_token,
      }).expect(200);
    });
  });

  describe('the policy', () => {
    it('refuses a client the target API has not let exchange (invalid_target)', async () => {
      const subject = await storefrontLogin();
      expectOAuthError(
        await exchange(outsider, subject.access_token),
        400,
        'invalid_target',
      );
      expectOAuthError(
        await exchange(ledgerGateway, subject.access_token),
        400,
        'unauthorized_client',
      );
      expectOAuthError(
        await exchange(storefront, subject.access_token, { resource: LEDGER }),
        400,
        'invalid_target',
      );
    });

    it('refuses a subject token of an audience the client may not exchange from (invalid_request)', async () => {
      // Alice's token for this service itself, not for the storefront.
      const own = (
        await token(null, {
          grant_type: 'password',
          username: 'alice',
          password: GOOD_PASSWORD,
        }).expect(200)
      ).body as TokenBody;
      expectOAuthError(
        await exchange(storefront, own.access_token),
        400,
        'invalid_request',
      );
    });

    it("refuses a client's own token as the subject (invalid_request)", async () => {
      const own = (
        await token(storefront, { grant_type: 'client_credentials' }).expect(
          200,
        )
      ).body.access_token as string;
      expectOAuthError(await exchange(storefront, own), 400, 'invalid_request');
    });

    it('refuses the public client (401 invalid_client)', async () => {
      const subject = await storefrontLogin();
      expectOAuthError(
        await exchange(null, subject.access_token),
        401,
        'invalid_client',
      );
    });

    it('impersonates, without act, only where the API is configured to allow it', async () => {
      const impersonator = await createClientAs(testApp, adminToken, {
        name: 'impersonator',
        allowedScopes: [],
        allowedGrantTypes: [TOKEN_EXCHANGE],
      });
      await allow(BILLING, impersonator, {
        scopes: ['invoices:read'],
        exchangeFrom: [STOREFRONT],
        impersonation: true,
      }).expect(200);
      const subject = await storefrontLogin();
      const response = await exchange(
        impersonator,
        subject.access_token,
      ).expect(200);
      const claims = decodeJwt(response.body.access_token as string);
      expect(claims.act).toBeUndefined();
      expect(claims.aud).toBe(BILLING);
    });

    it('refuses an exchangeFrom that names neither this service nor a registered API (400)', async () => {
      const response = await allow(BILLING, outsider, {
        scopes: [],
        exchangeFrom: ['https://nowhere.example.test'],
      });
      expect(response.status).toBe(400);
      expect(response.body.errors).toEqual([
        {
          field: 'exchangeFrom',
          message:
            'exchangeFrom names neither this service nor a registered API: https://nowhere.example.test',
        },
      ]);
    });
  });

  describe('malformed requests (400 invalid_request)', () => {
    it.each([
      ['no subject_token', { subject_token: '' }],
      [
        'another subject_token_type',
        { subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' },
      ],
      [
        'a refresh token asked for',
        {
          requested_token_type:
            'urn:ietf:params:oauth:token-type:refresh_token',
        },
      ],
      [
        'actor_token_type without actor_token',
        { actor_token_type: ACCESS_TOKEN },
      ],
      ['no target', { resource: [] as string[] }],
      ['a subject token that is not one', { subject_token: 'not.a.token' }],
    ])('refuses %s', async (_, change) => {
      const subject = await storefrontLogin();
      const fields: Record<string, string | string[]> = {
        grant_type: TOKEN_EXCHANGE,
        subject_token: subject.access_token,
        subject_token_type: ACCESS_TOKEN,
        resource: BILLING,
        ...change,
      };
      expectOAuthError(await token(storefront, fields), 400, 'invalid_request');
    });

    it('refuses two different targets (invalid_target)', async () => {
      const subject = await storefrontLogin();
      expectOAuthError(
        await exchange(storefront, subject.access_token, {
          resource: BILLING,
          audience: LEDGER,
        }),
        400,
        'invalid_target',
      );
    });
  });
});

/** The same exchange, sent by a strict client written elsewhere: panva's oauth4webapi. */
describe('token exchange with oauth4webapi', () => {
  let testApp: TestApp;
  let as: oauth.AuthorizationServer;
  let storefront: CreatedClient;
  const options = LOOPBACK;

  beforeAll(async () => {
    let adminToken: string;
    ({ testApp, adminToken, as } = await appForOauth4webapi());
    await registerUser(testApp, 'alice');
    const ids = new Map<string, string>();
    for (const api of APIS.slice(0, 2)) {
      const created = await testApp
        .http()
        .post('/resource-servers')
        .set('Authorization', `Bearer ${adminToken}`)
        .send(api)
        .expect(201);
      ids.set(api.identifier, (created.body as Api).id);
    }
    storefront = await createClientAs(testApp, adminToken, {
      name: 'storefront',
      allowedScopes: [],
      allowedGrantTypes: [TOKEN_EXCHANGE],
    });
    await testApp
      .http()
      .put(`/resource-servers/${ids.get(BILLING)}/clients/${storefront.id}`)
      .set('Authorization', `Bearer ${adminToken}`)
      .send({ scopes: ['invoices:read'], exchangeFrom: [STOREFRONT] })
      .expect(200);
  });
  afterAll(() => testApp.close());

  it('finds the grant in the metadata and exchanges a storefront token for a billing one', async () => {
    expect(as.grant_types_supported).toContain(TOKEN_EXCHANGE);
    const subject = await passwordGrant(testApp, 'alice', GOOD_PASSWORD, {
      resource: STOREFRONT,
    });
    const client: oauth.Client = { client_id: storefront.id };
    const exchanged = await oauth.processGenericTokenEndpointResponse(
      as,
      client,
      await oauth.genericTokenEndpointRequest(
        as,
        client,
        oauth.ClientSecretBasic(storefront.clientSecret),
        TOKEN_EXCHANGE,
        {
          subject_token: subject,
          subject_token_type: ACCESS_TOKEN,
          resource: BILLING,
        },
        options,
      ),
    );
    expect(exchanged.issued_token_type).toBe(ACCESS_TOKEN);
    expect(decodeJwt(exchanged.access_token)).toMatchObject({
      aud: BILLING,
      act: { sub: storefront.id },
    });
  });
});
