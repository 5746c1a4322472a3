import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { ClientsService } from '../src/clients/clients.service.js';
import { expectOAuthError } from './utils/expectations.js';
import {
  ADMIN,
  ADMIN_ENV,
  createClientAs,
  registerUser,
  tokenClient,
} from './utils/flows.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp } from './utils/test-app.js';

/** RFC 9700 §2.4: the password grant MUST NOT be used; an operator turns it off when nobody does. */
describe('PASSWORD_GRANT=disabled', () => {
  let testApp: TestApp;
  const { loginRequest, tokenRequest } = tokenClient(() => testApp);

  beforeAll(async () => {
    testApp = await createTestApp({ ...ADMIN_ENV, PASSWORD_GRANT: 'disabled' });
    await registerUser(testApp, 'alice');
  });
  afterAll(() => testApp.close());

  it('refuses the password grant as unsupported, before any password is checked', async () => {
    expectOAuthError(await loginRequest(), 400, 'unsupported_grant_type');
    // A wrong password gets the same answer: nothing about the account is told.
    expectOAuthError(
      await loginRequest('alice', 'not the password of alice'),
      400,
      'unsupported_grant_type',
    );
  });

  it('records the refusals as login.failed, grant_disabled: one row per client and window however many, with attempts', async () => {
    // A client of its own, so that the other tests' refusals count elsewhere.
    const { client, clientSecret } = await testApp.app
      .get(ClientsService)
      .create(
        { name: 'legacy', allowedScopes: [], allowedGrantTypes: ['password'] },
        {},
      );
    for (let attempt = 0; attempt < 3; attempt++)
      expectOAuthError(
        await tokenRequest({
          grant_type: 'password',
          username: 'bob',
          password: 'x',
        }).auth(client.id, clientSecret!),
        400,
        'unsupported_grant_type',
      );
    const rows = await testApp.app
      .get(DataSource)
      .getRepository(AuditEvent)
      .findBy({ type: 'login.failed', clientId: client.id });
    expect(rows).toEqual([
      expect.objectContaining({
        clientId: client.id,
        username: 'bob',
        details: { reason: 'grant_disabled', attempts: 2 },
      }),
    ]);
  });

  it('leaves password out of the RFC 8414 grant_types_supported', async () => {
    const metadata = await testApp
      .http()
      .get('/.well-known/oauth-authorization-server')
      .expect(200);
    expect(metadata.body.grant_types_supported).not.toContain('password');
    expect(metadata.body.grant_types_supported).toContain('refresh_token');
  });

  it('keeps the other grants working', async () => {
    // The seeded administrator cannot log in by password either; a client is created directly.
    const { client, clientSecret } = await testApp.app
      .get(ClientsService)
      .create(
        {
          name: 'reporting',
          allowedScopes: ['users:read'],
          allowedGrantTypes: ['client_credentials'],
        },
        {},
      );
    const response = await tokenRequest({
      grant_type: 'client_credentials',
    })
      .auth(client.id, clientSecret!)
      .expect(200);
    expect(response.body.scope).toBe('users:read');
  });
});

describe('the password grant, enabled (the default)', () => {
  let testApp: TestApp;
  const { login } = tokenClient(() => testApp);

  beforeAll(async () => {
    testApp = await createTestApp(ADMIN_ENV);
    await registerUser(testApp, 'alice');
  });
  afterAll(() => testApp.close());

  it('says in the audit log which logins came through it, per client', async () => {
    await login();
    const { access_token: adminToken } = await login(
      ADMIN.username,
      ADMIN.password,
    );
    const events = await testApp
      .http()
      .get('/audit-events?type=login.succeeded')
      .set('Authorization', `Bearer ${adminToken}`)
      .expect(200);
    expect(events.body.items[0]).toMatchObject({
      clientId: 'public',
      details: { grantType: 'password' },
    });
  });

  it('is refused to a registered client without it in its grant types', async () => {
    const { access_token: adminToken } = await login(
      ADMIN.username,
      ADMIN.password,
    );
    const service = await createClientAs(testApp, adminToken, {
      name: 'no-passwords',
      allowedScopes: [],
      allowedGrantTypes: ['client_credentials'],
    });
    const response = await testApp
      .http()
      .post('/auth/token')
      .auth(service.id, service.clientSecret)
      .type('form')
      .send({ grant_type: 'password', username: 'alice', password: 'x' });
    expectOAuthError(response, 400, 'unauthorized_client');
  });
});
