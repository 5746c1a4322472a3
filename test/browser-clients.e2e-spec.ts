import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { expectOAuthErrorBody, expectProblem } from './utils/expectations.js';
import {
  ADMIN,
  ADMIN_ENV,
  createClientAs,
  passwordGrant,
} from './utils/flows.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp } from './utils/test-app.js';

/** RFC 6749 §2, RFC 8252 §7.3 and §8.3, RFC 9700 §2.1: clients that sign people in through a browser. */
describe('POST /clients for browser sign-in', () => {
  let testApp: TestApp;
  let adminToken: string;

  beforeAll(async () => {
    testApp = await createTestApp(ADMIN_ENV);
    adminToken = await passwordGrant(testApp, ADMIN.username, ADMIN.password);
  });
  afterAll(() => testApp.close());

  const register = (body: Record<string, unknown>) =>
    testApp
      .http()
      .post('/clients')
      .set('Authorization', `Bearer ${adminToken}`)
      .send({ name: 'app', allowedScopes: ['profile'], ...body });

  const messagesOf = (body: { errors: { field: string; message: string }[] }) =>
    body.errors.map(({ field, message }) => `${field}: ${message}`);

  it('registers a public client: no secret, tokenEndpointAuthMethod none, its redirect URIs as given', async () => {
    const response = await register({
      clientType: 'public',
      allowedGrantTypes: ['authorization_code', 'refresh_token'],
      redirectUris: ['http://127.0.0.1/callback', 'https://app.example.com/cb'],
    }).expect(201);
    expect(response.body).toEqual({
      id: expect.any(String),
      name: 'app',
      allowedScopes: ['profile'],
      allowedGrantTypes: ['authorization_code', 'refresh_token'],
      tokenEndpointAuthMethod: 'none',
      dpopBoundAccessTokens: false,
      clientType: 'public',
      redirectUris: ['http://127.0.0.1/callback', 'https://app.example.com/cb'],
      firstParty: false,
      createdAt: expect.any(String),
    });
  });

  it('registers a confidential first-party web app with a secret', async () => {
    const response = await register({
      allowedGrantTypes: ['authorization_code', 'refresh_token'],
      redirectUris: ['https://app.example.com/cb'],
      firstParty: true,
    }).expect(201);
    expect(response.body).toMatchObject({
      clientType: 'confidential',
      tokenEndpointAuthMethod: 'client_secret_basic',
      firstParty: true,
      clientSecret: expect.any(String),
    });
  });

  it('a public client authenticates with its client_id alone, and only for its grants', async () => {
    const client = await createClientAs(testApp, adminToken, {
      name: 'native',
      allowedScopes: ['profile'],
      clientType: 'public',
      allowedGrantTypes: ['authorization_code', 'refresh_token'],
      redirectUris: ['http://127.0.0.1/cb'],
    });
    const response = await testApp
      .http()
      .post('/auth/token')
      .type('form')
      .send({ grant_type: 'client_credentials', client_id: client.id });
    // Authenticated as itself (not the anonymous public client), and refused as public.
    expectOAuthErrorBody(response, 401, 'invalid_client');
    const withSecret = await testApp
      .http()
      .post('/auth/token')
      .type('form')
      .send({
        grant_type: 'refresh_token',
        refresh_token: 'x',
        client_id: client.id,
        client_secret: 'guess',
      });
    expectOAuthErrorBody(withSecret, 401, 'invalid_client');
  });

  it.each([
    ['http elsewhere than loopback', 'http://app.example.com/cb', /loopback/],
    ['localhost (RFC 8252 §8.3)', 'http://localhost:8080/cb', /not localhost/],
    ['a fragment', 'https://app.example.com/cb#x', /fragment/],
    ['a relative URI', '/callback', /absolute/],
    ['a custom scheme', 'com.example.app:/cb', /https/],
    ['user info', 'https://user:pw@app.example.com/cb', /user name/],
  ])('refuses a redirect URI with %s', async (_case, uri, message) => {
    const response = await register({
      allowedGrantTypes: ['authorization_code'],
      redirectUris: [uri],
    });
    expectProblem(response, 400, '/clients');
    expect(messagesOf(response.body).join('\n')).toMatch(message);
  });

  it('refuses authorization_code without a redirect URI, and redirect URIs without it', async () => {
    const without = await register({
      allowedGrantTypes: ['authorization_code'],
    });
    expectProblem(without, 400, '/clients');
    expect(messagesOf(without.body)).toEqual([
      'redirectUris: the authorization_code grant needs at least one redirect URI',
    ]);
    const stray = await register({
      allowedGrantTypes: ['client_credentials'],
      redirectUris: ['https://app.example.com/cb'],
    });
    expectProblem(stray, 400, '/clients');
  });

  it('refuses a public client with a secret method, keys, or a grant needing a credential', async () => {
    const base = {
      clientType: 'public',
      redirectUris: ['https://app.example.com/cb'],
    };
    const basic = await register({
      ...base,
      allowedGrantTypes: ['authorization_code'],
      tokenEndpointAuthMethod: 'client_secret_basic',
    });
    expectProblem(basic, 400, '/clients');
    const grants = await register({
      ...base,
      allowedGrantTypes: ['authorization_code', 'client_credentials'],
    });
    expectProblem(grants, 400, '/clients');
    expect(messagesOf(grants.body)).toEqual([
      'allowedGrantTypes: a public client may use only authorization_code, the device_code grant and refresh_token, not client_credentials',
    ]);
    const none = await register({
      allowedGrantTypes: ['client_credentials'],
      tokenEndpointAuthMethod: 'none',
    });
    expectProblem(none, 400, '/clients');
  });

  it('refuses an unknown client type', async () => {
    const response = await register({
      clientType: 'native',
      allowedGrantTypes: ['client_credentials'],
    });
    expectProblem(response, 400, '/clients');
  });
});
