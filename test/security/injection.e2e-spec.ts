import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  expectInvalidGrant,
  expectOAuthError,
  expectProblem,
} from '../utils/expectations.js';
import {
  ADMIN,
  ADMIN_ENV,
  createClientAs,
  GOOD_PASSWORD,
  passwordGrant,
  registerUser,
  tokenClient,
} from '../utils/flows.js';
import type { CreatedClient } from '../utils/flows.js';
import {
  databaseSnapshot,
  expectNoLeak,
  OAUTH_DESCRIPTION_CHARSET,
} from '../utils/security.js';
import type { TestApp } from '../utils/test-app.js';
import { createTestApp } from '../utils/test-app.js';

/** SQL, NoSQL and encoding tricks, as an attacker types them into every field. */
const PAYLOADS = [
  "' OR 1=1 --",
  "' OR '1'='1",
  "admin'--",
  "root'--",
  '" OR ""="',
  "'; DROP TABLE users; --",
  "1' UNION SELECT passwordHash FROM users --",
  '{"$gt": ""}',
  '{"$ne": null}',
  '%',
  '_',
  '%00',
  'root\u0000',
  '\\',
  '*',
];

/**
 * Injection strings in every field of every body and query: each answers
 * its exact 4xx (never a 5xx), matches nobody and changes nothing.
 */
describe('injection', () => {
  let testApp: TestApp;
  let adminToken: string;
  let aliceToken: string;
  let client: CreatedClient;
  const tokens = tokenClient(() => testApp);

  beforeAll(async () => {
    testApp = await createTestApp(ADMIN_ENV);
    adminToken = await passwordGrant(testApp, ADMIN.username, ADMIN.password);
    await registerUser(testApp, 'alice');
    aliceToken = await passwordGrant(testApp, 'alice');
    client = await createClientAs(testApp, adminToken, {
      name: 'resource-server',
      allowedScopes: ['users:read'],
      allowedGrantTypes: ['client_credentials'],
    });
  });
  afterAll(() => testApp.close());

  const asAdmin = (request: ReturnType<ReturnType<TestApp['http']>['get']>) =>
    request.set('Authorization', `Bearer ${adminToken}`);

  describe.each(PAYLOADS)('%j', (payload) => {
    let before: Awaited<ReturnType<typeof databaseSnapshot>>;
    beforeAll(async () => {
      before = await databaseSnapshot(testApp);
    });
    afterAll(async () => {
      // No login, user, session, client or change came of any of it.
      expect(await databaseSnapshot(testApp)).toEqual(before);
    });

    it('POST /auth/token: as the username, with the admin’s password: 400 invalid_grant', async () => {
      expectInvalidGrant(await tokens.loginRequest(payload, ADMIN.password));
    });

    it('POST /auth/token: as the password of alice and of the admin: 400 invalid_grant', async () => {
      expectInvalidGrant(await tokens.loginRequest('alice', payload));
      expectInvalidGrant(await tokens.loginRequest(ADMIN.username, payload));
    });

    it('POST /auth/token: as the scope: 400 invalid_scope', async () => {
      expectOAuthError(
        await tokens.loginRequest('alice', GOOD_PASSWORD, { scope: payload }),
        400,
        'invalid_scope',
      );
    });

    it('POST /auth/token: as client_id and client_secret: 401 invalid_client', async () => {
      const response = await tokens.loginRequest('alice', GOOD_PASSWORD, {
        client_id: payload,
        client_secret: payload,
      });
      expectOAuthError(response, 401, 'invalid_client');
      const basic = await testApp
        .http()
        .post('/auth/token')
        .type('form')
        .auth(client.id, payload)
        .send({ grant_type: 'client_credentials' });
      expectOAuthError(basic, 401, 'invalid_client');
    });

    it('POST /auth/token: as the refresh_token: 400 invalid_grant', async () => {
      expectInvalidGrant(await tokens.refresh(payload));
    });

    it('POST /auth/token: as the grant_type: 400 unsupported_grant_type', async () => {
      const response = await tokens.tokenRequest({ grant_type: payload });
      expectOAuthError(response, 400, 'unsupported_grant_type');
      expectNoLeak(response);
      expect(response.body.error_description).toMatch(
        OAUTH_DESCRIPTION_CHARSET,
      );
    });

    it('POST /auth/revoke: as the token: 200, nothing revoked', async () => {
      await testApp
        .http()
        .post('/auth/revoke')
        .type('form')
        .send({ token: payload })
        .expect(200);
      await tokens.me(aliceToken).expect(200);
    });

    it('POST /auth/introspect: as the token: {"active": false}', async () => {
      const response = await testApp
        .http()
        .post('/auth/introspect')
        .type('form')
        .auth(client.id, client.clientSecret)
        .send({ token: payload })
        .expect(200);
      expect(response.body).toEqual({ active: false });
    });

    it('POST /users: as the username, and as a short password: 400 naming the field', async () => {
      const asUsername = await testApp
        .http()
        .post('/users')
        .send({ username: payload, password: GOOD_PASSWORD });
      expectProblem(asUsername, 400, '/users');
      expect(asUsername.body.errors).toEqual([
        { field: 'username', message: expect.any(String) },
      ]);
      // A long one is a fine password: any text may be one (NIST SP 800-63B).
      if ([...payload].length >= 15) return;
      const asPassword = await testApp
        .http()
        .post('/users')
        .send({ username: 'mallory', password: payload });
      expectProblem(asPassword, 400, '/users');
      expect(asPassword.body.errors).toEqual([
        { field: 'password', message: expect.any(String) },
      ]);
    });

    it('PATCH /users/me: as the username: 400, alice keeps her name', async () => {
      const response = await testApp
        .http()
        .patch('/users/me')
        .set('Authorization', `Bearer ${aliceToken}`)
        .send({ username: payload });
      expectProblem(response, 400, '/users/me');
      expect((await tokens.me(aliceToken)).body.username).toBe('alice');
    });

    it('GET /users: as the username filter: nobody matches (no wildcard, no SQL); a control character is a 400', async () => {
      const response = await asAdmin(
        testApp.http().get('/users').query({ username: payload }),
      );
      if (/\p{Cc}/u.test(payload)) {
        // SQLite's LIKE would stop at the NUL and match "root".
        expectProblem(response, 400, '/users');
        expect(response.body.errors).toEqual([
          {
            field: 'username',
            message: 'username must not contain control characters',
          },
        ]);
        return;
      }
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        items: [],
        total: 0,
        page: 1,
        limit: 20,
      });
    });

    it('GET /users: as page and as limit: 400 naming the field', async () => {
      for (const field of ['page', 'limit']) {
        const response = await asAdmin(
          testApp
            .http()
            .get('/users')
            .query({ [field]: payload }),
        );
        expectProblem(response, 400, '/users');
        expect(response.body.errors).toContainEqual({
          field,
          message: expect.any(String),
        });
      }
    });

    it('GET, PATCH and DELETE /users/{id}, DELETE /users/me/sessions/{id}: 400 naming the id', async () => {
      const id = encodeURIComponent(payload);
      for (const [method, path, token] of [
        ['get', `/users/${id}`, adminToken],
        ['patch', `/users/${id}`, adminToken],
        ['delete', `/users/${id}`, adminToken],
        ['delete', `/users/me/sessions/${id}`, aliceToken],
      ] as const) {
        const response = await testApp
          .http()
          [method](path)
          .set('Authorization', `Bearer ${token}`)
          .send(method === 'patch' ? { isActive: false } : undefined);
        expectProblem(response, 400, path);
        expect(response.body.errors).toEqual([
          { field: 'id', message: 'id must be a UUID' },
        ]);
      }
    });

    it('DELETE /clients/{id}: 404, no client removed', async () => {
      const path = `/clients/${encodeURIComponent(payload)}`;
      expectProblem(
        await testApp
          .http()
          .delete(path)
          .set('Authorization', `Bearer ${adminToken}`),
        404,
        path,
      );
    });
  });

  describe('objects where strings belong (NoSQL operators)', () => {
    it('POST /users with {"$gt": ""} as username or password: 400 naming the field', async () => {
      for (const field of ['username', 'password']) {
        const response = await testApp
          .http()
          .post('/users')
          .send({
            username: 'mallory',
            password: GOOD_PASSWORD,
            [field]: { $gt: '' },
          });
        expectProblem(response, 400, '/users');
        expect(response.body.errors).toContainEqual({
          field,
          message: expect.any(String),
        });
      }
    });

    it('POST /auth/token with username[$ne]= (bracket syntax): 400 invalid_request, nobody logged in', async () => {
      const before = await databaseSnapshot(testApp);
      const response = await testApp
        .http()
        .post('/auth/token')
        .type('form')
        .send('grant_type=password&username[$ne]=x&password[$ne]=x');
      expectOAuthError(response, 400, 'invalid_request');
      expect(await databaseSnapshot(testApp)).toEqual(before);
    });

    it('PUT /users/me/password with {"$ne": null} as the current password: 400, the password unchanged', async () => {
      const before = await databaseSnapshot(testApp);
      const response = await testApp
        .http()
        .put('/users/me/password')
        .set('Authorization', `Bearer ${aliceToken}`)
        .send({ currentPassword: { $ne: null }, newPassword: 'x'.repeat(20) });
      expectProblem(response, 400, '/users/me/password');
      expect(await databaseSnapshot(testApp)).toEqual(before);
      await tokens.login('alice', GOOD_PASSWORD);
    });
  });

  describe('RFC 6749 §3.1: a parameter sent twice', () => {
    it.each([
      ['grant_type=password&grant_type=client_credentials', 'grant_type'],
      [
        `grant_type=password&username=alice&username=${ADMIN.username}&password=x`,
        'username',
      ],
      ['grant_type=password&username=alice&password=a&password=b', 'password'],
      [
        'grant_type=password&username=alice&password=x&scope=profile&scope=users:write',
        'scope',
      ],
    ])('%s: 400 invalid_request naming it', async (form, name) => {
      const response = await testApp
        .http()
        .post('/auth/token')
        .type('form')
        .send(form);
      expectOAuthError(response, 400, 'invalid_request');
      expect(response.body.error_description).toContain(name);
      expect(response.body.error_description).toMatch(
        OAUTH_DESCRIPTION_CHARSET,
      );
    });
  });
});
