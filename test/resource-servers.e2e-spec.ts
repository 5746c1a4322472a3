import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import {
  expectInvalidToken,
  expectOAuthError,
  expectProblem,
} from './utils/expectations.js';
import {
  ADMIN,
  ADMIN_ENV,
  createClientAs,
  GOOD_PASSWORD,
  passwordGrant,
  registerUser,
  tokenClient,
} from './utils/flows.js';
import type { CreatedClient, TokenBody } from './utils/flows.js';
import { appForOauth4webapi, LOOPBACK } from './utils/oauth4webapi.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp, TEST_PUBLIC_URL } from './utils/test-app.js';

const BILLING = 'https://billing.example.test';
const INVENTORY = 'https://inventory.example.test/v2';

const BILLING_SCOPES = [
  {
    name: 'invoices:read',
    description: 'Read your invoices.',
    roles: ['user', 'admin'],
  },
  {
    name: 'invoices:write',
    description: 'Issue and cancel invoices.',
    roles: ['admin'],
  },
  {
    name: 'invoices:export',
    description: 'Export every invoice (services only).',
    roles: [],
  },
];

interface RegisteredApi {
  id: string;
  identifier: string;
  name: string;
  scopes: typeof BILLING_SCOPES;
  createdAt: string;
}

/** RFC 8707 §2: a form with `resource` repeated, which an object cannot hold. */
function form(
  fields: Record<string, string>,
  resources: readonly string[] = [],
): string {
  const body = new URLSearchParams(fields);
  for (const resource of resources) body.append('resource', resource);
  return body.toString();
}

describe('APIs as resource servers (RFC 8707 resource indicators)', () => {
  let testApp: TestApp;
  let adminToken: string;
  let billing: RegisteredApi;
  let inventory: RegisteredApi;
  /** A service that calls the billing API with tokens of its own. */
  let reporting: CreatedClient;
  /** A registered client that introspects tokens. */
  let introspector: CreatedClient;

  const { login, me, refresh } = tokenClient(() => testApp);

  const register = (body: Record<string, unknown>, token = adminToken) =>
    testApp
      .http()
      .post('/resource-servers')
      .set('Authorization', `Bearer ${token}`)
      .send(body);

  const tokenRequest = (
    fields: Record<string, string>,
    resources: readonly string[] = [],
    client?: CreatedClient,
  ) => {
    const request = testApp.http().post('/auth/token').type('form');
    if (client) request.auth(client.id, client.clientSecret);
    return request.send(form(fields, resources));
  };

  const loginFor = (
    resources: readonly string[],
    username = 'alice',
    extra: Record<string, string> = {},
  ) =>
    tokenRequest(
      { grant_type: 'password', username, password: GOOD_PASSWORD, ...extra },
      resources,
    );

  const accessTokenFor = async (resource: string) =>
    ((await loginFor([resource]).expect(200)).body as TokenBody).access_token;

  const introspect = (token: string) =>
    testApp
      .http()
      .post('/auth/introspect')
      .auth(introspector.id, introspector.clientSecret)
      .type('form')
      .send({ token })
      .expect(200);

  const allow = (api: RegisteredApi, client: CreatedClient, scopes: string[]) =>
    testApp
      .http()
      .put(`/resource-servers/${api.id}/clients/${client.id}`)
      .set('Authorization', `Bearer ${adminToken}`)
      .send({ scopes });

  const clientToken = (
    client: CreatedClient,
    resources: readonly string[],
    scope?: string,
  ) =>
    tokenRequest(
      {
        grant_type: 'client_credentials',
        ...(scope === undefined ? {} : { scope }),
      },
      resources,
      client,
    );

  beforeAll(async () => {
    testApp = await createTestApp(ADMIN_ENV);
    adminToken = await passwordGrant(testApp, ADMIN.username, ADMIN.password);
    await registerUser(testApp, 'alice');
    billing = (
      await register({
        identifier: BILLING,
        name: 'Billing API',
        scopes: BILLING_SCOPES,
      }).expect(201)
    ).body as RegisteredApi;
    inventory = (
      await register({
        identifier: INVENTORY,
        name: 'Inventory API',
        scopes: [
          {
            name: 'stock:read',
            description: 'Read stock levels.',
            roles: ['user'],
          },
        ],
      }).expect(201)
    ).body as RegisteredApi;
    reporting = await createClientAs(testApp, adminToken, {
      name: 'reporting',
      allowedScopes: [],
      allowedGrantTypes: ['client_credentials'],
    });
    introspector = await createClientAs(testApp, adminToken, {
      name: 'billing-gateway',
      allowedScopes: [],
      allowedGrantTypes: [],
    });
  });
  afterAll(() => testApp.close());

  describe('registering an API', () => {
    it('answers 201 with its id, identifier, name and scopes, and lists it', async () => {
      expect(billing).toEqual({
        id: expect.stringMatching(/^api_[\w-]{16}$/),
        identifier: BILLING,
        name: 'Billing API',
        scopes: BILLING_SCOPES,
        createdAt: expect.any(String),
      });
      const listed = await testApp
        .http()
        .get('/resource-servers')
        .set('Authorization', `Bearer ${adminToken}`)
        .expect(200);
      expect(listed.body).toEqual([billing, inventory]);
      await testApp
        .http()
        .get(`/resource-servers/${billing.id}`)
        .set('Authorization', `Bearer ${adminToken}`)
        .expect(200, billing);
    });

    it('is audited', async () => {
      const events = await testApp
        .http()
        .get('/audit-events?type=resource_server.registered')
        .set('Authorization', `Bearer ${adminToken}`)
        .expect(200);
      expect(events.body.items).toContainEqual(
        expect.objectContaining({
          type: 'resource_server.registered',
          details: {
            resourceServerId: billing.id,
            identifier: BILLING,
            scopes: ['invoices:read', 'invoices:write', 'invoices:export'],
          },
        }),
      );
    });

    it.each([
      ['a relative reference', '/billing', 'identifier is not an absolute URI'],
      [
        'a fragment',
        'https://api.example.test/#v1',
        'identifier must not have a fragment (RFC 8707 section 2)',
      ],
      [
        'a query',
        'https://api.example.test/?v=1',
        'identifier must not have a query (RFC 8707 section 2)',
      ],
      [
        "this service's own audience",
        TEST_PUBLIC_URL,
        "identifier is this service's own audience; a token request without resource is for it",
      ],
    ])(
      'refuses an identifier with %s (400)',
      async (_, identifier, message) => {
        const response = await register({
          identifier,
          name: 'x',
          scopes: [],
        });
        expectProblem(response, 400, '/resource-servers');
        expect(response.body.errors).toEqual([
          { field: 'identifier', message },
        ]);
      },
    );

    it('refuses a scope named twice, a scope name with a space and an unknown role (400)', async () => {
      const twice = await register({
        identifier: 'https://twice.example.test',
        name: 'x',
        scopes: [BILLING_SCOPES[0], BILLING_SCOPES[0]],
      });
      expect(twice.status).toBe(400);
      expect(twice.body.errors).toEqual([
        {
          field: 'scopes',
          message: 'scopes name invoices:read more than once',
        },
      ]);
      const malformed = await register({
        identifier: 'https://malformed.example.test',
        name: 'x',
        scopes: [{ name: 'two words', description: 'x', roles: ['owner'] }],
      });
      expect(malformed.status).toBe(400);
      const errors = malformed.body.errors as { field: string }[];
      expect(errors.map((error) => error.field)).toEqual([
        'scopes.0.name',
        'scopes.0.roles',
      ]);
    });

    it('refuses an identifier already registered (409), leaving the first as it was', async () => {
      const response = await register({
        identifier: BILLING,
        name: 'Impostor',
        scopes: [],
      });
      expectProblem(response, 409, '/resource-servers');
      await testApp
        .http()
        .get(`/resource-servers/${billing.id}`)
        .set('Authorization', `Bearer ${adminToken}`)
        .expect(200, billing);
    });

    it('needs clients:write: a user without it is refused (403)', async () => {
      const token = await passwordGrant(testApp, 'alice');
      const response = await register(
        { identifier: 'https://x.example.test', name: 'x', scopes: [] },
        token,
      );
      expect(response.status).toBe(403);
    });

    it('publishes its RFC 9728 metadata, without authentication', async () => {
      const response = await testApp
        .http()
        .get(`/resource-servers/${billing.id}/protected-resource-metadata`)
        .expect(200);
      expect(response.body).toEqual({
        resource: BILLING,
        resource_name: 'Billing API',
        authorization_servers: [TEST_PUBLIC_URL],
        scopes_supported: [
          'invoices:read',
          'invoices:write',
          'invoices:export',
        ],
        bearer_methods_supported: ['header'],
      });
      await testApp
        .http()
        .get('/resource-servers/api_nope/protected-resource-metadata')
        .expect(404);
    });
  });

  describe('a user token for an API', () => {
    it('carries exactly its aud and only its scopes the roles grant', async () => {
      const response = await loginFor([BILLING]).expect(200);
      const body = response.body as TokenBody;
      expect(body.scope).toBe('invoices:read');
      expect(decodeJwt(body.access_token)).toMatchObject({
        aud: BILLING,
        scope: 'invoices:read',
      });
      const admin = (
        await loginFor([BILLING], ADMIN.username, {
          password: ADMIN.password,
        }).expect(200)
      ).body as TokenBody;
      expect(admin.scope).toBe('invoices:read invoices:write');
    });

    it("is refused by this service's own routes (401 invalid_token)", async () => {
      const access_token = await accessTokenFor(BILLING);
      expectInvalidToken(await me(access_token), '/users/me');
    });

    it('is refused by its own routes even once introspection has verified it (and cached its signature)', async () => {
      const access_token = await accessTokenFor(BILLING);
      expect((await introspect(access_token)).body).toMatchObject({
        active: true,
        aud: BILLING,
      });
      expectInvalidToken(await me(access_token), '/users/me');
    });

    it('verifies at the API with the JWKS and its audience, and not at another API', async () => {
      const access_token = await accessTokenFor(BILLING);
      const jwks = createLocalJWKSet(
        (await testApp.http().get('/.well-known/jwks.json').expect(200)).body,
      );
      const options = { issuer: TEST_PUBLIC_URL, typ: 'at+jwt' };
      await expect(
        jwtVerify(access_token, jwks, { ...options, audience: BILLING }),
      ).resolves.toBeDefined();
      await expect(
        jwtVerify(access_token, jwks, { ...options, audience: INVENTORY }),
      ).rejects.toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
    });

    it('introspects as active with the API as aud, and its scopes', async () => {
      const access_token = await accessTokenFor(BILLING);
      expect((await introspect(access_token)).body).toMatchObject({
        active: true,
        aud: BILLING,
        scope: 'invoices:read',
        username: 'alice',
      });
    });

    it('without resource is for this service, as before', async () => {
      const { access_token } = await login();
      expect(decodeJwt(access_token).aud).toBe(TEST_PUBLIC_URL);
      await me(access_token).expect(200);
    });

    it("with this service's own identifier as resource is for this service", async () => {
      const { access_token } = (await loginFor([TEST_PUBLIC_URL]).expect(200))
        .body as TokenBody;
      expect(decodeJwt(access_token).aud).toBe(TEST_PUBLIC_URL);
      await me(access_token).expect(200);
    });

    it.each([
      ['an unregistered resource', ['https://unknown.example.test']],
      ['a malformed resource', ['not a uri']],
      ['two APIs at once', [BILLING, INVENTORY]],
    ])('is refused for %s (400 invalid_target)', async (_, resources) => {
      expectOAuthError(await loginFor(resources), 400, 'invalid_target');
    });

    it('accepts the same resource twice as one', async () => {
      const response = await loginFor([BILLING, BILLING]).expect(200);
      expect(decodeJwt((response.body as TokenBody).access_token).aud).toBe(
        BILLING,
      );
    });

    it("refuses a scope the API does not define, or the user's roles do not grant (400 invalid_scope)", async () => {
      expectOAuthError(
        await loginFor([BILLING], 'alice', { scope: 'profile' }),
        400,
        'invalid_scope',
      );
      expectOAuthError(
        await loginFor([BILLING], 'alice', { scope: 'invoices:write' }),
        400,
        'invalid_scope',
      );
    });

    it('refuses resource in the URL (it would land in access logs)', async () => {
      const response = await testApp
        .http()
        .post(`/auth/token?resource=${encodeURIComponent(BILLING)}`)
        .type('form')
        .send({
          grant_type: 'password',
          username: 'alice',
          password: GOOD_PASSWORD,
        });
      expectOAuthError(response, 400, 'invalid_request');
    });
  });

  describe('refreshing (RFC 8707 §2.2)', () => {
    it("stays with the session's API without resource", async () => {
      const first = (await loginFor([BILLING]).expect(200)).body as TokenBody;
      const next = (await refresh(first.refresh_token).expect(200))
        .body as TokenBody;
      expect(decodeJwt(next.access_token)).toMatchObject({
        aud: BILLING,
        scope: 'invoices:read',
      });
    });

    it('gets a token for another API the user may use, and for this service, with their scopes', async () => {
      const first = (await loginFor([BILLING]).expect(200)).body as TokenBody;
      const forInventory = (
        await tokenRequest(
          { grant_type: 'refresh_token', refresh_token: first.refresh_token },
          [INVENTORY],
        ).expect(200)
      ).body as TokenBody;
      expect(decodeJwt(forInventory.access_token)).toMatchObject({
        aud: INVENTORY,
        scope: 'stock:read',
      });
      const forUs = (
        await tokenRequest(
          {
            grant_type: 'refresh_token',
            refresh_token: forInventory.refresh_token,
          },
          [TEST_PUBLIC_URL],
        ).expect(200)
      ).body as TokenBody;
      expect(decodeJwt(forUs.access_token)).toMatchObject({
        aud: TEST_PUBLIC_URL,
        scope: 'profile',
      });
      await me(forUs.access_token).expect(200);
      // The session's own API is still the default.
      const again = (await refresh(forUs.refresh_token).expect(200))
        .body as TokenBody;
      expect(decodeJwt(again.access_token).aud).toBe(BILLING);
    });

    it('refuses an unknown resource without spending the refresh token', async () => {
      const first = (await loginFor([BILLING]).expect(200)).body as TokenBody;
      expectOAuthError(
        await tokenRequest(
          { grant_type: 'refresh_token', refresh_token: first.refresh_token },
          ['https://unknown.example.test'],
        ),
        400,
        'invalid_target',
      );
      await refresh(first.refresh_token).expect(200);
    });

    it("introspects the refresh token of an API session with that API's scopes", async () => {
      const first = (await loginFor([BILLING]).expect(200)).body as TokenBody;
      expect((await introspect(first.refresh_token)).body).toMatchObject({
        active: true,
        scope: 'invoices:read',
      });
    });
  });

  describe('a client token for an API (client_credentials)', () => {
    it('is refused until the API lets the client in (400 invalid_target)', async () => {
      expectOAuthError(
        await clientToken(reporting, [BILLING]),
        400,
        'invalid_target',
      );
    });

    it('carries the scopes the API lets the client have, once it does', async () => {
      const allowed = await allow(billing, reporting, [
        'invoices:export',
      ]).expect(200);
      expect(allowed.body).toEqual({
        clientId: reporting.id,
        scopes: ['invoices:export'],
        exchangeFrom: [],
        impersonation: false,
        createdAt: expect.any(String),
      });
      const response = await clientToken(reporting, [BILLING]).expect(200);
      expect(response.body.scope).toBe('invoices:export');
      expect(decodeJwt(response.body.access_token)).toMatchObject({
        aud: BILLING,
        sub: reporting.id,
        client_id: reporting.id,
        scope: 'invoices:export',
      });
      expect((await introspect(response.body.access_token)).body).toMatchObject(
        { active: true, aud: BILLING, scope: 'invoices:export' },
      );
      expectOAuthError(
        await clientToken(reporting, [BILLING], 'invoices:write'),
        400,
        'invalid_scope',
      );
      const clients = await testApp
        .http()
        .get(`/resource-servers/${billing.id}/clients`)
        .set('Authorization', `Bearer ${adminToken}`)
        .expect(200);
      expect(clients.body).toEqual([allowed.body]);
    });

    it('refuses to let a client have a scope the API does not define (400), or an unknown client (404)', async () => {
      const unknownScope = await allow(billing, reporting, ['stock:read']);
      expect(unknownScope.status).toBe(400);
      expect(unknownScope.body.errors).toEqual([
        {
          field: 'scopes',
          message: 'scopes stock:read are not defined by this API',
        },
      ]);
      const unknownClient = await testApp
        .http()
        .put(`/resource-servers/${billing.id}/clients/svc_nobody`)
        .set('Authorization', `Bearer ${adminToken}`)
        .send({ scopes: [] });
      expect(unknownClient.status).toBe(404);
    });

    it("lets only an admin's own token let a client in (403 for a client's token)", async () => {
      const manager = await createClientAs(testApp, adminToken, {
        name: 'client-manager',
        allowedScopes: ['clients:write'],
        allowedGrantTypes: ['client_credentials'],
      });
      const managerToken = (await clientToken(manager, []).expect(200)).body
        .access_token as string;
      const response = await testApp
        .http()
        .put(`/resource-servers/${billing.id}/clients/${manager.id}`)
        .set('Authorization', `Bearer ${managerToken}`)
        .send({ scopes: ['invoices:write'] });
      expect(response.status).toBe(403);
    });

    it('stops at once when the API lets the client out: its token introspects inactive, new ones are refused', async () => {
      const extra = await createClientAs(testApp, adminToken, {
        name: 'short-lived',
        allowedScopes: [],
        allowedGrantTypes: ['client_credentials'],
      });
      await allow(billing, extra, ['invoices:read']).expect(200);
      const token = (await clientToken(extra, [BILLING]).expect(200)).body
        .access_token as string;
      await testApp
        .http()
        .delete(`/resource-servers/${billing.id}/clients/${extra.id}`)
        .set('Authorization', `Bearer ${adminToken}`)
        .expect(204);
      expect((await introspect(token)).body).toEqual({ active: false });
      expectOAuthError(
        await clientToken(extra, [BILLING]),
        400,
        'invalid_target',
      );
    });
  });

  describe("letting a client out of an API ends its users' access there", () => {
    /** An app people sign in to, which calls the billing API for them. */
    const billingApp = async () => {
      const app = await createClientAs(testApp, adminToken, {
        name: 'billing-app',
        allowedScopes: [],
        allowedGrantTypes: ['password', 'refresh_token'],
      });
      await allow(billing, app, ['invoices:read', 'invoices:write']).expect(
        200,
      );
      return app;
    };
    const adminLogin = async (app: CreatedClient) =>
      (
        await tokenRequest(
          {
            grant_type: 'password',
            username: ADMIN.username,
            password: ADMIN.password,
          },
          [BILLING],
          app,
        ).expect(200)
      ).body as TokenBody;
    const refreshAt = (app: CreatedClient, refreshToken: string) =>
      tokenRequest(
        { grant_type: 'refresh_token', refresh_token: refreshToken },
        [],
        app,
      );

    it('narrowed (PUT), a refresh and the tokens it holds carry only what the API still lets the client have', async () => {
      const app = await billingApp();
      const first = await adminLogin(app);
      expect(first.scope).toBe('invoices:read invoices:write');
      await allow(billing, app, ['invoices:read']).expect(200);
      expect((await introspect(first.access_token)).body).toMatchObject({
        active: true,
        scope: 'invoices:read',
      });
      const next = (await refreshAt(app, first.refresh_token).expect(200))
        .body as TokenBody;
      expect(next.scope).toBe('invoices:read');
      expect(decodeJwt(next.access_token).scope).toBe('invoices:read');
    });

    it('let out (DELETE), a refresh is refused without spending the token, and the tokens it holds are inactive', async () => {
      const app = await billingApp();
      const first = await adminLogin(app);
      await testApp
        .http()
        .delete(`/resource-servers/${billing.id}/clients/${app.id}`)
        .set('Authorization', `Bearer ${adminToken}`)
        .expect(204);
      expect((await introspect(first.access_token)).body).toEqual({
        active: false,
      });
      const refused = await refreshAt(app, first.refresh_token);
      expectOAuthError(refused, 400, 'invalid_grant');
      expect(refused.body.error_description).toBe(
        'The API this session signed in to no longer lets this client in; log in again.',
      );
      // Let in again, the same refresh token still works: it was not spent.
      await allow(billing, app, ['invoices:read']).expect(200);
      const next = (await refreshAt(app, first.refresh_token).expect(200))
        .body as TokenBody;
      expect(next.scope).toBe('invoices:read');
    });
  });

  describe('deleting a client', () => {
    it('deletes what let it call an API: it is no longer listed there', async () => {
      const doomed = await createClientAs(testApp, adminToken, {
        name: 'doomed',
        allowedScopes: [],
        allowedGrantTypes: ['client_credentials'],
      });
      await allow(inventory, doomed, ['stock:read']).expect(200);
      await testApp
        .http()
        .delete(`/clients/${doomed.id}`)
        .set('Authorization', `Bearer ${adminToken}`)
        .expect(204);
      const listed = await testApp
        .http()
        .get(`/resource-servers/${inventory.id}/clients`)
        .set('Authorization', `Bearer ${adminToken}`)
        .expect(200);
      expect(listed.body).toEqual([]);
    });
  });

  describe('deleting an API', () => {
    it('makes its tokens inactive at introspection and refuses new ones; what let clients in goes with it', async () => {
      const created = (
        await register({
          identifier: 'https://legacy.example.test',
          name: 'Legacy',
          scopes: [
            { name: 'legacy', description: 'Everything.', roles: ['user'] },
          ],
        }).expect(201)
      ).body as RegisteredApi;
      await allow(created, reporting, ['legacy']).expect(200);
      const session = (await loginFor([created.identifier]).expect(200))
        .body as TokenBody;
      const clientTokenBefore = (
        await clientToken(reporting, [created.identifier]).expect(200)
      ).body.access_token as string;

      await testApp
        .http()
        .delete(`/resource-servers/${created.id}`)
        .set('Authorization', `Bearer ${adminToken}`)
        .expect(204);

      expect((await introspect(session.access_token)).body).toEqual({
        active: false,
      });
      expect((await introspect(clientTokenBefore)).body).toEqual({
        active: false,
      });
      expect((await introspect(session.refresh_token)).body).toEqual({
        active: false,
      });
      expectOAuthError(
        await loginFor([created.identifier]),
        400,
        'invalid_target',
      );
      expectOAuthError(
        await refresh(session.refresh_token),
        400,
        'invalid_target',
      );
      // Registered again, it starts with no client let in.
      const again = (
        await register({
          identifier: 'https://legacy.example.test',
          name: 'Legacy',
          scopes: [
            { name: 'legacy', description: 'Everything.', roles: ['user'] },
          ],
        }).expect(201)
      ).body as RegisteredApi;
      expectOAuthError(
        await clientToken(reporting, [again.identifier]),
        400,
        'invalid_target',
      );
      const events = await testApp
        .http()
        .get('/audit-events?type=resource_server.deleted')
        .set('Authorization', `Bearer ${adminToken}`)
        .expect(200);
      expect(events.body.items[0].details).toEqual({
        resourceServerId: created.id,
        identifier: 'https://legacy.example.test',
      });
    });

    it('answers 404 for an API that is not registered', async () => {
      await testApp
        .http()
        .delete('/resource-servers/api_nope')
        .set('Authorization', `Bearer ${adminToken}`)
        .expect(404);
    });
  });
});

/** The same, driven by a strict client written elsewhere: panva's oauth4webapi. */
describe('resource indicators with oauth4webapi', () => {
  let testApp: TestApp;
  let as: oauth.AuthorizationServer;
  let service: CreatedClient;
  const options = LOOPBACK;

  beforeAll(async () => {
    let adminToken: string;
    ({ testApp, adminToken, as } = await appForOauth4webapi());
    const api = (
      await testApp
        .http()
        .post('/resource-servers')
        .set('Authorization', `Bearer ${adminToken}`)
        .send({
          identifier: BILLING,
          name: 'Billing API',
          scopes: BILLING_SCOPES,
        })
        .expect(201)
    ).body as RegisteredApi;
    service = await createClientAs(testApp, adminToken, {
      name: 'reporting',
      allowedScopes: [],
      allowedGrantTypes: ['client_credentials'],
    });
    await testApp
      .http()
      .put(`/resource-servers/${api.id}/clients/${service.id}`)
      .set('Authorization', `Bearer ${adminToken}`)
      .send({ scopes: ['invoices:export'] })
      .expect(200);
  });
  afterAll(() => testApp.close());

  const client = (): oauth.Client => ({ client_id: service.id });
  const grant = (parameters: URLSearchParams) =>
    oauth.clientCredentialsGrantRequest(
      as,
      client(),
      oauth.ClientSecretBasic(service.clientSecret),
      parameters,
      options,
    );

  it('gets a client_credentials token for the API named by resource', async () => {
    const granted = await oauth.processClientCredentialsResponse(
      as,
      client(),
      await grant(new URLSearchParams({ resource: BILLING })),
    );
    expect(granted.scope).toBe('invoices:export');
    expect(decodeJwt(granted.access_token).aud).toBe(BILLING);
  });

  it("validates the token as the API would (validateJwtAccessToken): accepted for its audience, refused for another's", async () => {
    const granted = await oauth.processClientCredentialsResponse(
      as,
      client(),
      await grant(new URLSearchParams({ resource: BILLING })),
    );
    const call = () =>
      new Request(`${BILLING}/invoices`, {
        headers: { Authorization: `Bearer ${granted.access_token}` },
      });
    await expect(
      oauth.validateJwtAccessToken(as, call(), BILLING, options),
    ).resolves.toMatchObject({ aud: BILLING, client_id: service.id });
    await expect(
      oauth.validateJwtAccessToken(as, call(), INVENTORY, options),
    ).rejects.toMatchObject({ code: oauth.JWT_CLAIM_COMPARISON });
  });

  it('reads invalid_target for an API that does not exist', async () => {
    await expect(
      oauth.processClientCredentialsResponse(
        as,
        client(),
        await grant(
          new URLSearchParams({ resource: 'https://unknown.example.test' }),
        ),
      ),
    ).rejects.toMatchObject({ error: 'invalid_target' });
  });
});
