import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
  jest,
} from '@jest/globals';
import { ConflictException, Logger } from '@nestjs/common';
import { decodeJwt } from 'jose';
import { randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { User } from '../src/users/user.entity.js';
import { UserAdministration } from '../src/users/user-administration.service.js';
import { UsersService } from '../src/users/users.service.js';
import {
  BEARER_PREFIX,
  expectInvalidGrant,
  INVALID_TOKEN_CHALLENGE,
} from './utils/expectations.js';
import {
  ADMIN,
  ADMIN_ENV,
  ADMIN_SCOPE,
  createClientAs,
  GOOD_PASSWORD,
  passwordGrant,
  registerUser,
  tokenClient,
} from './utils/flows.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp, createTestDatabase } from './utils/test-app.js';

interface UserResource {
  id: string;
  username: string;
  isActive: boolean;
  roles: string[];
  createdAt: string;
  updatedAt: string;
}

interface UserPage {
  items: UserResource[];
  total: number;
  page: number;
  limit: number;
}

const bearer = (token: string) => `Bearer ${token}`;

/**
 * RFC 9457 problem details at this path. Looser than utils' expectProblem:
 * `errors` may appear on any status and is not required on a 400.
 */
function expectProblem(response: Response, status: number, instance: string) {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(
    /^application\/problem\+json/,
  );
  expect(response.body).toEqual({
    type: 'about:blank',
    title: expect.any(String),
    status,
    detail: expect.any(String),
    instance,
    ...(response.body.errors === undefined
      ? {}
      : { errors: expect.any(Array) }),
  });
}

const fieldsOf = (body: { errors: { field: string }[] }) =>
  [...new Set(body.errors.map((error) => error.field))].sort();

function expectInsufficientScope(
  response: Response,
  instance: string,
  scope: string,
) {
  expectProblem(response, 403, instance);
  expect(response.headers['www-authenticate']).toBe(
    `${BEARER_PREFIX}, error="insufficient_scope", scope="${scope}"`,
  );
}

function expectInvalidToken(response: Response, instance: string) {
  expectProblem(response, 401, instance);
  expect(response.headers['www-authenticate']).toMatch(INVALID_TOKEN_CHALLENGE);
}

describe('administration', () => {
  let testApp: TestApp;
  let adminToken: string;
  let userToken: string;
  let admin: UserResource;

  beforeAll(async () => {
    testApp = await createTestApp(ADMIN_ENV);
    adminToken = await passwordGrant(testApp, ADMIN.username, ADMIN.password);
    admin = (
      await testApp
        .http()
        .get('/users/me')
        .set('Authorization', bearer(adminToken))
        .expect(200)
    ).body as UserResource;
    await registerUser(testApp, 'alice');
    userToken = await passwordGrant(testApp, 'alice');
  });
  afterAll(() => testApp.close());

  const asAdmin = {
    get: (path: string) =>
      testApp.http().get(path).set('Authorization', bearer(adminToken)),
    patch: (path: string, body: Record<string, unknown>) =>
      testApp
        .http()
        .patch(path)
        .set('Authorization', bearer(adminToken))
        .send(body),
    delete: (path: string) =>
      testApp.http().delete(path).set('Authorization', bearer(adminToken)),
  };

  const { loginRequest, me } = tokenClient(() => testApp);

  describe('GET /users', () => {
    // Users of this block, registered in this order after root and alice.
    const names = ['bob', 'carol', 'ali_baba', 'alixbaba', 'kalina'];
    beforeAll(async () => {
      for (const name of names) await registerUser(testApp, name);
    });

    const listing = (query: string) => asAdmin.get(`/users${query}`);

    it('answers 200 with the first page of user resources and no secret', async () => {
      const response = await listing('').expect(200);

      const page = response.body as UserPage;
      expect(page).toEqual({
        items: expect.any(Array),
        total: page.items.length,
        page: 1,
        limit: 20,
      });
      expect(page.items.map((user) => user.username)).toEqual(
        expect.arrayContaining(['root', 'alice', ...names]),
      );
      expect(page.items).toContainEqual(admin);
      for (const user of page.items) {
        expect(Object.keys(user).sort()).toEqual([
          'createdAt',
          'id',
          'isActive',
          'roles',
          'updatedAt',
          'username',
        ]);
      }
    });

    it('lists users oldest first, in the order they registered', async () => {
      const page = (await listing('?limit=100').expect(200)).body as UserPage;

      expect(page.items.slice(0, 7).map((user) => user.username)).toEqual([
        'root',
        'alice',
        ...names,
      ]);
    });

    it('pages with page and limit, counting every match in total', async () => {
      const all = (await listing('?limit=100').expect(200)).body as UserPage;

      const second = (await listing('?page=2&limit=2').expect(200))
        .body as UserPage;
      expect(second).toEqual({
        items: all.items.slice(2, 4),
        total: all.total,
        page: 2,
        limit: 2,
      });

      const beyond = (await listing('?page=1000&limit=2').expect(200))
        .body as UserPage;
      expect(beyond).toEqual({
        items: [],
        total: all.total,
        page: 1000,
        limit: 2,
      });
    });

    it('filters by a username that contains the text, in any case', async () => {
      const page = (await listing('?username=ALI').expect(200))
        .body as UserPage;

      expect(page.items.map((user) => user.username).sort()).toEqual([
        'ali_baba',
        'alice',
        'alixbaba',
        'kalina',
      ]);
      expect(page.total).toBe(4);
    });

    it('takes _ and % in the filter literally, not as LIKE wildcards', async () => {
      const underscore = (await listing('?username=i_b').expect(200))
        .body as UserPage;
      expect(underscore.items.map((user) => user.username)).toEqual([
        'ali_baba',
      ]);
      expect(underscore.total).toBe(1);

      const percent = (
        await listing(`?username=${encodeURIComponent('a%a')}`).expect(200)
      ).body as UserPage;
      expect(percent).toEqual({ items: [], total: 0, page: 1, limit: 20 });
    });

    it('answers 400 problem details for a page or limit out of range', async () => {
      for (const [query, field] of [
        ['?page=0', 'page'],
        ['?page=x', 'page'],
        ['?limit=0', 'limit'],
        ['?limit=101', 'limit'],
        ['?limit=2.5', 'limit'],
      ]) {
        const response = await listing(query);
        expectProblem(response, 400, '/users');
        expect(fieldsOf(response.body)).toEqual([field]);
      }
    });

    it('answers 400 for an unknown query parameter', async () => {
      const response = await listing('?role=admin');
      expectProblem(response, 400, '/users');
      expect(fieldsOf(response.body)).toEqual(['role']);
    });

    it('answers 401 with a Bearer challenge without a token', async () => {
      const response = await testApp.http().get('/users');
      expectProblem(response, 401, '/users');
      expect(response.headers['www-authenticate']).toBe(BEARER_PREFIX);
    });

    it('RFC 6750 §3.1: answers 403 insufficient_scope for a user who is not an admin', async () => {
      expectInsufficientScope(
        await testApp
          .http()
          .get('/users')
          .set('Authorization', bearer(userToken)),
        '/users',
        'users:read',
      );
    });

    it('RFC 6750 §3.1: answers 403 for an admin token requested with the profile scope only', async () => {
      const narrowed = await passwordGrant(
        testApp,
        ADMIN.username,
        ADMIN.password,
        { scope: 'profile' },
      );
      expectInsufficientScope(
        await testApp
          .http()
          .get('/users')
          .set('Authorization', bearer(narrowed)),
        '/users',
        'users:read',
      );
    });

    it('answers 400, not 500, for a page beyond any offset', async () => {
      await asAdmin.get('/users?page=100000000000000000000').expect(400);
    });
  });

  describe('GET /users/{id}', () => {
    it('answers 200 with the user resource', async () => {
      const bob = await registerUser(testApp, 'bob2');

      const response = await asAdmin.get(`/users/${bob.id}`).expect(200);
      expect(response.body).toEqual({
        id: bob.id,
        username: 'bob2',
        isActive: true,
        roles: ['user'],
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
    });

    it('answers 404 for an unknown id', async () => {
      const id = randomUUID();
      expectProblem(await asAdmin.get(`/users/${id}`), 404, `/users/${id}`);
    });

    it('answers 400 for an id that is not a UUID', async () => {
      expectProblem(
        await asAdmin.get('/users/not-a-uuid'),
        400,
        '/users/not-a-uuid',
      );
    });

    it('answers 401 without a token and 403 for a user who is not an admin', async () => {
      const path = `/users/${admin.id}`;
      const anonymous = await testApp.http().get(path);
      expectProblem(anonymous, 401, path);
      expect(anonymous.headers['www-authenticate']).toBe(BEARER_PREFIX);
      expectInsufficientScope(
        await testApp.http().get(path).set('Authorization', bearer(userToken)),
        path,
        'users:read',
      );
    });
  });

  describe('PATCH /users/{id}', () => {
    it('deactivating a user ends their access token, refresh token and logins at once', async () => {
      const erin = await registerUser(testApp, 'erin');
      const tokens = (await loginRequest('erin').expect(200)).body as {
        access_token: string;
        refresh_token: string;
      };
      await me(tokens.access_token).expect(200);

      const response = await asAdmin
        .patch(`/users/${erin.id}`, { isActive: false })
        .expect(200);
      expect(response.body).toEqual({
        id: erin.id,
        username: 'erin',
        isActive: false,
        roles: ['user'],
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });

      expectInvalidToken(await me(tokens.access_token), '/users/me');
      expectInvalidGrant(
        await testApp.http().post('/auth/token').type('form').send({
          grant_type: 'refresh_token',
          refresh_token: tokens.refresh_token,
        }),
      );
      expectInvalidGrant(await loginRequest('erin'));
    });

    it('reactivating a user lets them log in again, but not use tokens from before', async () => {
      const fay = await registerUser(testApp, 'fay');
      const before = await passwordGrant(testApp, 'fay');
      await asAdmin.patch(`/users/${fay.id}`, { isActive: false }).expect(200);

      const response = await asAdmin
        .patch(`/users/${fay.id}`, { isActive: true })
        .expect(200);
      expect((response.body as UserResource).isActive).toBe(true);

      expectInvalidToken(await me(before), '/users/me');
      // iat has whole-second precision: move the deactivation's cut a second
      // back, as if the login below came a second later, without waiting one.
      await testApp.app
        .get(DataSource)
        .getRepository(User)
        .update(
          { id: fay.id },
          { tokensValidAfter: new Date(Date.now() - 1_000) },
        );
      const after = await passwordGrant(testApp, 'fay');
      await me(after).expect(200);
    });

    it('removing the admin role takes the admin scopes from that admin’s existing token at once', async () => {
      const dana = await registerUser(testApp, 'dana');
      await asAdmin
        .patch(`/users/${dana.id}`, { roles: ['user', 'admin'] })
        .expect(200);
      const danaToken = await passwordGrant(testApp, 'dana');
      expect(decodeJwt(danaToken).scope).toBe(ADMIN_SCOPE);
      await testApp
        .http()
        .get('/users')
        .set('Authorization', bearer(danaToken))
        .expect(200);

      const response = await asAdmin
        .patch(`/users/${dana.id}`, { roles: ['user'] })
        .expect(200);
      expect((response.body as UserResource).roles).toEqual(['user']);

      expectInsufficientScope(
        await testApp
          .http()
          .get('/users')
          .set('Authorization', bearer(danaToken)),
        '/users',
        'users:read',
      );
      await me(danaToken).expect(200);
    });

    it('granting the admin role does not widen tokens issued before', async () => {
      const gus = await registerUser(testApp, 'gus');
      const before = await passwordGrant(testApp, 'gus');

      await asAdmin
        .patch(`/users/${gus.id}`, { roles: ['user', 'admin'] })
        .expect(200);

      expectInsufficientScope(
        await testApp.http().get('/users').set('Authorization', bearer(before)),
        '/users',
        'users:read',
      );
      const after = await passwordGrant(testApp, 'gus');
      expect(decodeJwt(after).scope).toBe(ADMIN_SCOPE);
    });

    it('answers 400 naming unknown fields, and changes nothing', async () => {
      const hal = await registerUser(testApp, 'hal');

      const response = await asAdmin.patch(`/users/${hal.id}`, {
        isActive: false,
        username: 'hal9000',
        passwordHash: 'x',
      });

      expectProblem(response, 400, `/users/${hal.id}`);
      expect(fieldsOf(response.body)).toEqual(['passwordHash', 'username']);
      const stored = await asAdmin.get(`/users/${hal.id}`).expect(200);
      expect(stored.body).toMatchObject({ username: 'hal', isActive: true });
    });

    it('answers 400 naming a field of the wrong type or an unknown role', async () => {
      const ivy = await registerUser(testApp, 'ivy');

      const badActive = await asAdmin.patch(`/users/${ivy.id}`, {
        isActive: 'no',
      });
      expectProblem(badActive, 400, `/users/${ivy.id}`);
      expect(fieldsOf(badActive.body)).toEqual(['isActive']);

      const badRole = await asAdmin.patch(`/users/${ivy.id}`, {
        roles: ['user', 'superuser'],
      });
      expectProblem(badRole, 400, `/users/${ivy.id}`);
      expect(fieldsOf(badRole.body)).toEqual(['roles']);
    });

    it('answers 404 for an unknown id and 400 for a non-UUID id', async () => {
      const id = randomUUID();
      expectProblem(
        await asAdmin.patch(`/users/${id}`, { isActive: false }),
        404,
        `/users/${id}`,
      );
      expectProblem(
        await asAdmin.patch('/users/42', { isActive: false }),
        400,
        '/users/42',
      );
    });

    it('RFC 6750 §3.1: answers 403 insufficient_scope users:write for a read-only admin token', async () => {
      const readOnly = await passwordGrant(
        testApp,
        ADMIN.username,
        ADMIN.password,
        { scope: 'users:read' },
      );
      const path = `/users/${admin.id}`;
      expectInsufficientScope(
        await testApp
          .http()
          .patch(path)
          .set('Authorization', bearer(readOnly))
          .send({ isActive: false }),
        path,
        'users:write',
      );
      expectInsufficientScope(
        await testApp
          .http()
          .patch(path)
          .set('Authorization', bearer(userToken))
          .send({ roles: ['user'] }),
        path,
        'users:write',
      );
      const stored = await asAdmin.get(path).expect(200);
      expect(stored.body).toMatchObject({
        isActive: true,
        roles: ['user', 'admin'],
      });
    });

    it.each([{ isActive: null }, { roles: null }])(
      'answers 400, not 500, for %j',
      async (body) => {
        const { id } = await registerUser(
          testApp,
          `nullable${Object.keys(body)[0].toLowerCase()}`,
        );
        await asAdmin.patch(`/users/${id}`, body).expect(400);
      },
    );
  });

  describe("PATCH /users/{id} with a client's token", () => {
    let clientToken: string;
    beforeAll(async () => {
      const client = await createClientAs(testApp, adminToken, {
        name: 'directory-sync',
        allowedScopes: ['users:read', 'users:write'],
        allowedGrantTypes: ['client_credentials'],
      });
      const response = await testApp
        .http()
        .post('/auth/token')
        .type('form')
        .auth(client.id, client.clientSecret)
        .send({ grant_type: 'client_credentials' })
        .expect(200);
      clientToken = (response.body as { access_token: string }).access_token;
    });

    it('answers 403 to roles, even with users:write, and changes nothing', async () => {
      const mia = await registerUser(testApp, 'mia');
      const path = `/users/${mia.id}`;

      const response = await testApp
        .http()
        .patch(path)
        .set('Authorization', bearer(clientToken))
        .send({ roles: ['user', 'admin'], isActive: false });

      expectProblem(response, 403, path);
      expect(response.body.detail).toBe(
        "Only an admin's own access token may change roles, not a client's.",
      );
      expect(response.headers['www-authenticate']).toBeUndefined();
      const stored = await asAdmin.get(path).expect(200);
      expect(stored.body).toMatchObject({ isActive: true, roles: ['user'] });
      expect(decodeJwt(await passwordGrant(testApp, 'mia')).scope).toBe(
        'profile',
      );
    });

    it('answers 403 to deactivating or deleting an admin, and changes nothing', async () => {
      const oda = await registerUser(testApp, 'oda');
      const path = `/users/${oda.id}`;
      await asAdmin.patch(path, { roles: ['user', 'admin'] }).expect(200);

      const deactivation = await testApp
        .http()
        .patch(path)
        .set('Authorization', bearer(clientToken))
        .send({ isActive: false });
      expectProblem(deactivation, 403, path);
      expect(deactivation.body.detail).toBe(
        "Only an admin's own access token may deactivate or reactivate an admin, not a client's.",
      );
      const deletion = await testApp
        .http()
        .delete(path)
        .set('Authorization', bearer(clientToken));
      expectProblem(deletion, 403, path);
      expect(deletion.body.detail).toBe(
        "Only an admin's own access token may delete an admin, not a client's.",
      );
      const stored = await asAdmin.get(path).expect(200);
      expect(stored.body).toMatchObject({
        isActive: true,
        roles: ['user', 'admin'],
      });
    });

    it('may still deactivate a user; an admin may still grant roles', async () => {
      const ned = await registerUser(testApp, 'ned');
      const path = `/users/${ned.id}`;

      await testApp
        .http()
        .patch(path)
        .set('Authorization', bearer(clientToken))
        .send({ isActive: false })
        .expect(200);
      const response = await asAdmin
        .patch(path, { roles: ['user', 'admin'] })
        .expect(200);
      expect(response.body).toMatchObject({
        isActive: false,
        roles: ['user', 'admin'],
      });
    });
  });

  describe('DELETE /users/{id}', () => {
    it('answers 204 and the user, their tokens and their login are gone', async () => {
      const jay = await registerUser(testApp, 'jay');
      const tokens = (await loginRequest('jay').expect(200)).body as {
        access_token: string;
        refresh_token: string;
      };

      const response = await asAdmin.delete(`/users/${jay.id}`).expect(204);
      expect(response.text).toBe('');

      expectProblem(
        await asAdmin.get(`/users/${jay.id}`),
        404,
        `/users/${jay.id}`,
      );
      expectInvalidToken(await me(tokens.access_token), '/users/me');
      expectInvalidGrant(
        await testApp.http().post('/auth/token').type('form').send({
          grant_type: 'refresh_token',
          refresh_token: tokens.refresh_token,
        }),
      );
      expectInvalidGrant(await loginRequest('jay'));
      expectProblem(
        await asAdmin.delete(`/users/${jay.id}`),
        404,
        `/users/${jay.id}`,
      );
    });

    it('answers 400 for a non-UUID id', async () => {
      expectProblem(await asAdmin.delete('/users/me2'), 400, '/users/me2');
    });

    it('answers 401 without a token and 403 for a user who is not an admin, and keeps the user', async () => {
      const kim = await registerUser(testApp, 'kim');
      const path = `/users/${kim.id}`;

      expectProblem(await testApp.http().delete(path), 401, path);
      expectInsufficientScope(
        await testApp
          .http()
          .delete(path)
          .set('Authorization', bearer(userToken)),
        path,
        'users:write',
      );
      await asAdmin.get(path).expect(200);
    });
  });
});

describe('the last active admin', () => {
  let testApp: TestApp;
  let rootToken: string;
  let root: UserResource;

  beforeAll(async () => {
    testApp = await createTestApp(ADMIN_ENV);
    rootToken = await passwordGrant(testApp, ADMIN.username, ADMIN.password);
    root = (
      await testApp
        .http()
        .get('/users/me')
        .set('Authorization', bearer(rootToken))
        .expect(200)
    ).body as UserResource;
  });
  afterAll(() => testApp.close());

  const patchAs = (token: string, id: string, body: Record<string, unknown>) =>
    testApp
      .http()
      .patch(`/users/${id}`)
      .set('Authorization', bearer(token))
      .send(body);
  const storedAdmins = async () =>
    (await testApp.app.get(DataSource).getRepository(User).find())
      .filter((user) => user.isActive && user.roles.includes('admin'))
      .map((user) => user.username)
      .sort();
  /** Registers a user and makes it an admin; its token has the admin scopes. */
  const newAdmin = async (username: string, promoterToken = rootToken) => {
    const user = await registerUser(testApp, username);
    await patchAs(promoterToken, user.id, {
      roles: ['user', 'admin'],
    }).expect(200);
    return { ...user, token: await passwordGrant(testApp, username) };
  };
  const expectLastAdminConflict = (response: Response, instance: string) => {
    expectProblem(response, 409, instance);
    expect(response.body.detail).toMatch(/^This is the last active admin: /);
  };

  it.each([
    ['demoted', { roles: ['user'] }],
    ['deactivated', { isActive: false }],
  ])(
    'cannot be %s: 409, and it stays an active admin',
    async (change, body) => {
      const response = await patchAs(rootToken, root.id, body);

      expectLastAdminConflict(response, `/users/${root.id}`);
      expect(response.body.detail).toContain(change);
      expect(await storedAdmins()).toEqual(['root']);
      await testApp
        .http()
        .get('/users')
        .set('Authorization', bearer(rootToken))
        .expect(200);
    },
  );

  it('cannot be deleted, by DELETE /users/{id} or by DELETE /users/me: 409', async () => {
    expectLastAdminConflict(
      await testApp
        .http()
        .delete(`/users/${root.id}`)
        .set('Authorization', bearer(rootToken)),
      `/users/${root.id}`,
    );
    expectLastAdminConflict(
      await testApp
        .http()
        .delete('/users/me')
        .set('Authorization', bearer(rootToken))
        .send({ currentPassword: ADMIN.password }),
      '/users/me',
    );
    expect(await storedAdmins()).toEqual(['root']);
  });

  it('a deactivated admin does not count as another one', async () => {
    const idle = await newAdmin('idle');
    await patchAs(rootToken, idle.id, { isActive: false }).expect(200);

    expectLastAdminConflict(
      await patchAs(rootToken, root.id, { roles: ['user'] }),
      `/users/${root.id}`,
    );
    expect(await storedAdmins()).toEqual(['root']);
  });

  it('one admin may delete their account while another is left', async () => {
    const boris = await newAdmin('boris');

    await testApp
      .http()
      .delete('/users/me')
      .set('Authorization', bearer(boris.token))
      .send({ currentPassword: GOOD_PASSWORD })
      .expect(204);
    expect(await storedAdmins()).toEqual(['root']);
  });
});

/**
 * The race the last-admin rule must survive: each admin sees the other and
 * thinks it may go. The count and the change are one transaction (on
 * PostgreSQL with the admins' rows locked), so the second counts again.
 */
describe('two admins demoting each other at once', () => {
  let testApp: TestApp;
  let root: { id: string; token: string };
  let ann: { id: string; token: string };

  beforeEach(async () => {
    testApp = await createTestApp(ADMIN_ENV);
    const rootToken = await passwordGrant(
      testApp,
      ADMIN.username,
      ADMIN.password,
    );
    root = {
      id: (
        (
          await testApp
            .http()
            .get('/users/me')
            .set('Authorization', bearer(rootToken))
            .expect(200)
        ).body as UserResource
      ).id,
      token: rootToken,
    };
    const { id } = await registerUser(testApp, 'ann');
    await testApp
      .http()
      .patch(`/users/${id}`)
      .set('Authorization', bearer(rootToken))
      .send({ roles: ['user', 'admin'] })
      .expect(200);
    ann = { id, token: await passwordGrant(testApp, 'ann') };
  });
  afterEach(() => testApp.close());

  const activeAdmins = async () =>
    (await testApp.app.get(DataSource).getRepository(User).find())
      .filter((user) => user.isActive && user.roles.includes('admin'))
      .map((user) => user.username);

  it('in the service, both past the access check: one succeeds, the other is refused with 409, and one admin is left', async () => {
    const users = testApp.app.get(UsersService);
    const administration = testApp.app.get(UserAdministration);
    const [rootUser, annUser] = await Promise.all([
      users.findById(root.id),
      users.findById(ann.id),
    ]);

    const outcomes = await Promise.allSettled([
      administration.update(annUser!, { roles: ['user'] }, { id: root.id }),
      administration.update(rootUser!, { roles: ['user'] }, { id: ann.id }),
    ]);

    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual([
      'fulfilled',
      'rejected',
    ]);
    const refusal = outcomes.find((outcome) => outcome.status === 'rejected');
    expect(refusal?.reason).toBeInstanceOf(ConflictException);
    expect(await activeAdmins()).toHaveLength(1);
  });

  it('over HTTP: one 200; the other refused, 409 (or 403 when its own demotion came first and took its scopes); one admin is left', async () => {
    const [annDemoted, rootDemoted] = await Promise.all([
      testApp
        .http()
        .patch(`/users/${ann.id}`)
        .set('Authorization', bearer(root.token))
        .send({ roles: ['user'] }),
      testApp
        .http()
        .patch(`/users/${root.id}`)
        .set('Authorization', bearer(ann.token))
        .send({ roles: ['user'] }),
    ]);

    const statuses = [annDemoted.status, rootDemoted.status].sort();
    expect([
      [200, 403],
      [200, 409],
    ]).toContainEqual(statuses);
    expect(await activeAdmins()).toEqual([
      annDemoted.status === 200 ? 'root' : 'ann',
    ]);
  });
});

describe('POST /users with REGISTRATION=closed', () => {
  let testApp: TestApp;
  let adminToken: string;

  beforeAll(async () => {
    testApp = await createTestApp({ ...ADMIN_ENV, REGISTRATION: 'closed' });
    adminToken = await passwordGrant(testApp, ADMIN.username, ADMIN.password);
  });
  afterAll(() => testApp.close());

  const register = (username: string) =>
    testApp.http().post('/users').send({ username, password: GOOD_PASSWORD });
  const storedNames = async () =>
    (await testApp.app.get(DataSource).getRepository(User).find()).map(
      (user) => user.username,
    );

  it('answers 403 problem details to an anonymous caller, and creates no one', async () => {
    expectProblem(await register('mallory'), 403, '/users');
    expect(await storedNames()).toEqual(['root']);
  });

  it('answers 201 with the user and its Location to an admin', async () => {
    const response = await register('nina')
      .set('Authorization', bearer(adminToken))
      .expect(201);

    const user = response.body as UserResource;
    expect(user).toEqual({
      id: expect.any(String),
      username: 'nina',
      isActive: true,
      roles: ['user'],
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(response.headers['location']).toBe(`/users/${user.id}`);
    await passwordGrant(testApp, 'nina');
  });

  it('answers 403 to a user who is not an admin', async () => {
    const ninaToken = await passwordGrant(testApp, 'nina');
    expectProblem(
      await register('oscar').set('Authorization', bearer(ninaToken)),
      403,
      '/users',
    );
    expect(await storedNames()).not.toContain('oscar');
  });

  it('answers 403 to an admin token without users:write', async () => {
    const profileOnly = await passwordGrant(
      testApp,
      ADMIN.username,
      ADMIN.password,
      { scope: 'profile users:read' },
    );
    expectProblem(
      await register('olga').set('Authorization', bearer(profileOnly)),
      403,
      '/users',
    );
    expect(await storedNames()).not.toContain('olga');
  });

  it('answers 401 invalid_token for an invalid bearer token, rather than treating the caller as anonymous', async () => {
    const response = await register('peggy').set(
      'Authorization',
      'Bearer not-a-token',
    );
    expectInvalidToken(response, '/users');
    expect(await storedNames()).not.toContain('peggy');
  });
});

describe('admin bootstrap from ADMIN_USERNAME and ADMIN_PASSWORD', () => {
  it('creates the admin at start-up, with the user and admin roles and every admin scope', async () => {
    const testApp = await createTestApp(ADMIN_ENV);
    try {
      const response = await testApp
        .http()
        .post('/auth/token')
        .type('form')
        .send({
          grant_type: 'password',
          username: ADMIN.username,
          password: ADMIN.password,
        })
        .expect(200);
      const token = (response.body as { access_token: string; scope: string })
        .access_token;
      expect((response.body as { scope: string }).scope).toBe(ADMIN_SCOPE);

      const me = await testApp
        .http()
        .get('/users/me')
        .set('Authorization', bearer(token))
        .expect(200);
      expect(me.body).toMatchObject({
        username: 'root',
        isActive: true,
        roles: ['user', 'admin'],
      });
    } finally {
      await testApp.close();
    }
  });

  it('refuses to start with a weak ADMIN_PASSWORD, naming the variable', async () => {
    await expect(
      createTestApp({ ADMIN_USERNAME: 'root', ADMIN_PASSWORD: 'short' }),
    ).rejects.toThrow(/ADMIN_PASSWORD/);
  });

  it('refuses to start with only one of the two variables, naming both', async () => {
    await expect(createTestApp({ ADMIN_USERNAME: 'root' })).rejects.toThrow(
      /ADMIN_USERNAME, ADMIN_PASSWORD/,
    );
  });

  it('leaves an existing user of that name alone: no new roles, no new password, and warns', async () => {
    const { databaseUrl, drop } = await createTestDatabase();
    const warn = jest.spyOn(Logger.prototype, 'warn');
    try {
      const first = await createTestApp({ DATABASE_URL: databaseUrl });
      try {
        await registerUser(first, 'root');
      } finally {
        await first.close();
      }

      const second = await createTestApp({
        ...ADMIN_ENV,
        DATABASE_URL: databaseUrl,
      });
      try {
        expect(warn).toHaveBeenCalledWith(
          'No admin exists, and ADMIN_USERNAME "root" is a user who is not one: it is not promoted. ' +
            'Set ADMIN_USERNAME to a name nobody has to create the first admin.',
        );
        const stored = await second.app
          .get(DataSource)
          .getRepository(User)
          .find();
        expect(
          stored.map(({ username, roles }) => ({ username, roles })),
        ).toEqual([{ username: 'root', roles: ['user'] }]);
        const token = await passwordGrant(second, 'root', GOOD_PASSWORD);
        expect(decodeJwt(token).scope).toBe('profile');
        expectInvalidGrant(
          await second.http().post('/auth/token').type('form').send({
            grant_type: 'password',
            username: ADMIN.username,
            password: ADMIN.password,
          }),
        );
      } finally {
        await second.close();
      }
    } finally {
      warn.mockRestore();
      await drop();
    }
  });

  it('creates no admin when one exists already, under another name', async () => {
    const { databaseUrl, drop } = await createTestDatabase();
    try {
      const first = await createTestApp({
        ...ADMIN_ENV,
        DATABASE_URL: databaseUrl,
      });
      await first.close();

      const second = await createTestApp({
        ADMIN_USERNAME: 'chief',
        ADMIN_PASSWORD: 'another long admin passphrase',
        DATABASE_URL: databaseUrl,
      });
      try {
        const stored = await second.app
          .get(DataSource)
          .getRepository(User)
          .find();
        expect(
          stored.map(({ username, roles }) => ({ username, roles })),
        ).toEqual([{ username: 'root', roles: ['user', 'admin'] }]);
      } finally {
        await second.close();
      }
    } finally {
      await drop();
    }
  });
});
