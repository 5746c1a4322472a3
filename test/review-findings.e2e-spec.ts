import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import { CredentialChecker } from '../src/users/credential-checker.service.js';
import { LoginSessions } from '../src/users/login-sessions.service.js';
import { ProfileChanges } from '../src/users/profile-changes.service.js';
import {
  ADMIN,
  ADMIN_ENV,
  GOOD_PASSWORD,
  passwordGrant,
  registerUser,
} from './utils/flows.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp } from './utils/test-app.js';

/** Faults a security review found, each pinned by the request that showed it. */
describe('security review findings', () => {
  let testApp: TestApp;
  let adminToken: string;
  beforeAll(async () => {
    testApp = await createTestApp(ADMIN_ENV);
    adminToken = await passwordGrant(testApp, ADMIN.username, ADMIN.password);
  });
  afterAll(() => testApp.close());

  it('a login whose password check predates a password change starts no session', async () => {
    await registerUser(testApp, 'victim');
    // The attacker's login has checked the old password and is about to start its session...
    const checked = await testApp.app
      .get(CredentialChecker)
      .verifyCredentials('victim', GOOD_PASSWORD);
    // ...when the victim changes the password.
    await testApp.app
      .get(ProfileChanges)
      .changePassword(
        checked!,
        GOOD_PASSWORD,
        'an entirely new passphrase for me',
      );

    expect(
      await testApp.app
        .get(LoginSessions)
        .start(checked!, 'public', ['profile'], {}),
    ).toBeNull();
  });

  it.each([
    [
      'PATCH /users/me',
      () => testApp.http().patch('/users/me'),
      { username: null },
      'username',
    ],
  ])(
    '%s answers 400, not 500, for an explicit null',
    async (_route, request, body, field) => {
      const token = await passwordGrant(
        testApp,
        ADMIN.username,
        ADMIN.password,
      );
      const response = await request()
        .auth(token, { type: 'bearer' })
        .send(body)
        .expect(400);
      const errors = response.body.errors as { field: string }[];
      expect(errors.map((error) => error.field)).toContain(field);
    },
  );

  it.each([{ isActive: null }, { roles: null }])(
    'PATCH /users/{id} answers 400, not 500, for %j',
    async (body) => {
      const { id } = await registerUser(
        testApp,
        `nullable${Object.keys(body)[0].toLowerCase()}`,
      );
      await testApp
        .http()
        .patch(`/users/${id}`)
        .auth(adminToken, { type: 'bearer' })
        .send(body)
        .expect(400);
    },
  );

  it('GET /users answers 400, not 500, for a page beyond any offset', async () => {
    await testApp
      .http()
      .get('/users?page=100000000000000000000')
      .auth(adminToken, { type: 'bearer' })
      .expect(400);
  });

  it('refuses a username in the URL of a token request (passport-local would read it)', async () => {
    const response = await testApp
      .http()
      .post('/auth/token?username=root')
      .type('form')
      .send({ grant_type: 'password', password: ADMIN.password })
      .expect(400);
    expect(response.body.error).toBe('invalid_request');
  });

  it('RFC 6749 §2.3.1: a public client may name itself with client_id alone', async () => {
    const response = await testApp
      .http()
      .post('/auth/token')
      .type('form')
      .send({
        grant_type: 'password',
        username: ADMIN.username,
        password: ADMIN.password,
        client_id: 'my-spa',
      })
      .expect(200);
    expect(decodeJwt(response.body.access_token).client_id).toBe('public');
  });

  it('a registered client gets no more scope than it was registered for, even for an admin', async () => {
    const client = await testApp
      .http()
      .post('/clients')
      .auth(adminToken, { type: 'bearer' })
      .send({
        name: 'low-trust-app',
        allowedScopes: ['profile'],
        allowedGrantTypes: ['password', 'refresh_token'],
      })
      .expect(201);
    const response = await testApp
      .http()
      .post('/auth/token')
      .auth(client.body.id, client.body.clientSecret)
      .type('form')
      .send({
        grant_type: 'password',
        username: ADMIN.username,
        password: ADMIN.password,
      })
      .expect(200);
    expect(response.body.scope).toBe('profile');
  });
});
