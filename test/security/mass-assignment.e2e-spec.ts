import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { expectProblem } from '../utils/expectations.js';
import {
  ADMIN,
  ADMIN_ENV,
  GOOD_PASSWORD,
  passwordGrant,
  registerUser,
  tokenClient,
} from '../utils/flows.js';
import { databaseSnapshot } from '../utils/security.js';
import type { TestApp } from '../utils/test-app.js';
import { createTestApp } from '../utils/test-app.js';

/** Columns a caller must never set through a body. */
const PROTECTED_FIELDS: Record<string, unknown> = {
  roles: ['user', 'admin'],
  isActive: false,
  id: '00000000-0000-4000-8000-000000000000',
  passwordHash: '$2b$04$abcdefghijklmnopqrstuuJ2N3K6t3Y1vHcQm5xK9WlqB8oUO3Wy',
  tokensValidAfter: '2099-01-01T00:00:00.000Z',
  createdAt: '2000-01-01T00:00:00.000Z',
  updatedAt: '2000-01-01T00:00:00.000Z',
  secretHash: 'x',
  clientSecret: 'chosen-by-the-attacker',
};

/**
 * Mass assignment: a protected field slipped into a body is refused with
 * a 400 naming it, and nothing is stored.
 */
describe('mass assignment', () => {
  let testApp: TestApp;
  let adminToken: string;
  let aliceToken: string;
  let alice: { id: string };
  const tokens = tokenClient(() => testApp);

  beforeAll(async () => {
    testApp = await createTestApp(ADMIN_ENV);
    adminToken = await passwordGrant(testApp, ADMIN.username, ADMIN.password);
    alice = await registerUser(testApp, 'alice');
    aliceToken = await passwordGrant(testApp, 'alice');
  });
  afterAll(() => testApp.close());

  /** The request answers 400 naming the field, and no row changed. */
  async function expectRefused(
    send: () => PromiseLike<import('supertest').Response>,
    instance: string,
    field: string,
  ) {
    const before = await databaseSnapshot(testApp);
    const response = await send();
    expectProblem(response, 400, instance);
    expect(response.body.errors).toContainEqual({
      field,
      message: `${field} is not an accepted field`,
    });
    expect(await databaseSnapshot(testApp)).toEqual(before);
  }

  describe.each(Object.keys(PROTECTED_FIELDS))('%s', (field) => {
    const extra = () => ({ [field]: PROTECTED_FIELDS[field] });

    it('POST /users: 400, no user created', async () => {
      await expectRefused(
        () =>
          testApp
            .http()
            .post('/users')
            .send({ username: 'mallory', password: GOOD_PASSWORD, ...extra() }),
        '/users',
        field,
      );
    });

    it('PATCH /users/me: 400, alice unchanged', async () => {
      await expectRefused(
        () =>
          testApp
            .http()
            .patch('/users/me')
            .set('Authorization', `Bearer ${aliceToken}`)
            .send({ username: 'alice2', ...extra() }),
        '/users/me',
        field,
      );
    });

    it('PUT /users/me/password: 400, the password unchanged', async () => {
      await expectRefused(
        () =>
          testApp
            .http()
            .put('/users/me/password')
            .set('Authorization', `Bearer ${aliceToken}`)
            .send({
              currentPassword: GOOD_PASSWORD,
              newPassword: 'a different long passphrase entirely',
              ...extra(),
            }),
        '/users/me/password',
        field,
      );
    });

    it('POST /clients: 400, no client created', async () => {
      await expectRefused(
        () =>
          testApp
            .http()
            .post('/clients')
            .set('Authorization', `Bearer ${adminToken}`)
            .send({
              name: 'billing',
              allowedScopes: ['users:read'],
              allowedGrantTypes: ['client_credentials'],
              ...extra(),
            }),
        '/clients',
        field,
      );
    });

    if (field !== 'roles' && field !== 'isActive') {
      it('PATCH /users/{id} (admin): 400, the user unchanged', async () => {
        await expectRefused(
          () =>
            testApp
              .http()
              .patch(`/users/${alice.id}`)
              .set('Authorization', `Bearer ${adminToken}`)
              .send({ isActive: true, ...extra() }),
          `/users/${alice.id}`,
          field,
        );
      });
    }
  });

  it('prototype pollution keys in a body: 400, nothing stored, no object polluted', async () => {
    const before = await databaseSnapshot(testApp);
    for (const body of [
      '{"username":"mallory","password":"correct horse battery staple","__proto__":{"roles":["admin"]}}',
      '{"username":"mallory","password":"correct horse battery staple","constructor":{"prototype":{"roles":["admin"]}}}',
    ]) {
      const response = await testApp
        .http()
        .post('/users')
        .set('Content-Type', 'application/json')
        .send(body);
      expectProblem(response, 400, '/users');
      expect(response.body.errors).toEqual([
        { field: 'body', message: expect.any(String) },
      ]);
    }
    expect(({} as Record<string, unknown>).roles).toBeUndefined();
    expect(await databaseSnapshot(testApp)).toEqual(before);
  });

  it('alice still logs in with her password and is still a plain, active user', async () => {
    await tokens.login('alice', GOOD_PASSWORD);
    const me = await tokens.me(aliceToken).expect(200);
    expect(me.body).toMatchObject({
      id: alice.id,
      username: 'alice',
      isActive: true,
      roles: ['user'],
    });
  });
});
