import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import { randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { Session } from '../src/sessions/session.entity.js';
import { User } from '../src/users/user.entity.js';
import { CredentialChecker } from '../src/users/credential-checker.service.js';
import { LoginSessions } from '../src/users/login-sessions.service.js';
import { ProfileChanges } from '../src/users/profile-changes.service.js';
import {
  ANY_INVALID_TOKEN_CHALLENGE,
  expectInvalidGrant,
  expectProblem,
  MISSING_TOKEN_CHALLENGE,
} from './utils/expectations.js';
import {
  ADMIN,
  ADMIN_ENV,
  GOOD_PASSWORD,
  passwordGrant,
  registerUser,
  tokenClient,
} from './utils/flows.js';
import type { TokenBody } from './utils/flows.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp } from './utils/test-app.js';

const NEW_PASSWORD = 'a different long passphrase entirely';

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

interface SessionBody {
  id: string;
  clientId: string;
  scope: string;
  userAgent: string | null;
  ipAddress: string | null;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
  current: boolean;
}

/** RFC 6750 §3.1: a refused access token. */
function expectInvalidToken(response: Response, instance = '/users/me') {
  expectProblem(response, 401, instance);
  expect(response.headers['www-authenticate']).toMatch(
    ANY_INVALID_TOKEN_CHALLENGE,
  );
}

describe('the current user’s sessions, password and account', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await createTestApp(ADMIN_ENV);
  });
  afterAll(() => testApp.close());

  const { loginRequest, refresh, me } = tokenClient(() => testApp);
  const login = async (
    username: string,
    userAgent = 'e2e-test',
    extra: Record<string, string> = {},
    password = GOOD_PASSWORD,
  ): Promise<TokenBody> =>
    (
      await testApp
        .http()
        .post('/auth/token')
        .set('User-Agent', userAgent)
        .type('form')
        .send({ grant_type: 'password', username, password, ...extra })
        .expect(200)
    ).body as TokenBody;
  const bearer = (token: string) => `Bearer ${token}`;
  const listSessions = (token: string) =>
    testApp
      .http()
      .get('/users/me/sessions')
      .set('Authorization', bearer(token));
  const endSession = (token: string, id: string) =>
    testApp
      .http()
      .delete(`/users/me/sessions/${id}`)
      .set('Authorization', bearer(token));
  const changePassword = (token: string, body: Record<string, unknown>) =>
    testApp
      .http()
      .put('/users/me/password')
      .set('Authorization', bearer(token))
      .send(body);
  const sessionOf = (token: string) => decodeJwt(token).sid as string;
  const sessionRows = () => testApp.app.get(DataSource).getRepository(Session);
  const userRows = () => testApp.app.get(DataSource).getRepository(User);

  describe('RFC 6750 §3.1: every route answers 401 with a challenge without a token', () => {
    it.each([
      ['GET', '/users/me/sessions'],
      ['DELETE', `/users/me/sessions/${randomUUID()}`],
      ['PATCH', '/users/me'],
      ['PUT', '/users/me/password'],
      ['DELETE', '/users/me'],
    ])('%s %s', async (method, path) => {
      const response = await testApp
        .http()
        [method.toLowerCase() as 'get' | 'delete' | 'patch' | 'put'](path);

      expectProblem(response, 401, path);
      expect(response.headers['www-authenticate']).toBe(
        MISSING_TOKEN_CHALLENGE,
      );
    });
  });

  describe('GET /users/me/sessions', () => {
    let laptop: TokenBody;
    let phone: TokenBody;
    beforeAll(async () => {
      await registerUser(testApp, 'alice');
      await registerUser(testApp, 'bob');
      laptop = await login('alice', 'Mozilla/5.0 (X11; Linux x86_64)');
      phone = await login('alice', 'Mobile Safari');
      await login('bob');
    });

    it('answers 200 with one entry per login, the one of this token marked current, no secrets', async () => {
      const response = await listSessions(laptop.access_token).expect(200);

      expect(response.headers['content-type']).toMatch(/^application\/json/);
      const sessions = response.body as SessionBody[];
      expect(sessions).toHaveLength(2);
      const byId = new Map(sessions.map((session) => [session.id, session]));
      expect(byId.get(sessionOf(laptop.access_token))).toEqual({
        id: sessionOf(laptop.access_token),
        clientId: 'public',
        resource: null,
        scope: 'profile',
        userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
        ipAddress: expect.stringMatching(/127\.0\.0\.1|::1/),
        createdAt: expect.stringMatching(ISO_DATE),
        lastUsedAt: expect.stringMatching(ISO_DATE),
        expiresAt: expect.stringMatching(ISO_DATE),
        current: true,
      });
      expect(byId.get(sessionOf(phone.access_token))).toMatchObject({
        userAgent: 'Mobile Safari',
        current: false,
      });
      const text = JSON.stringify(response.body);
      expect(text).not.toContain(laptop.refresh_token);
      expect(text).not.toContain(phone.refresh_token);
    });

    it('marks the other session current when asked with its token', async () => {
      const sessions = (await listSessions(phone.access_token).expect(200))
        .body as SessionBody[];

      expect(
        sessions.filter((session) => session.current).map(({ id }) => id),
      ).toEqual([sessionOf(phone.access_token)]);
    });

    it('expires a session REFRESH_TOKEN_TTL (14 days by default) after its last use', async () => {
      const sessions = (await listSessions(laptop.access_token).expect(200))
        .body as SessionBody[];

      for (const session of sessions) {
        const lifetime =
          Date.parse(session.expiresAt) - Date.parse(session.lastUsedAt);
        expect(lifetime).toBe(1_209_600_000);
      }
    });

    it('keeps one entry per family across refreshes, its lastUsedAt moved on', async () => {
      await registerUser(testApp, 'carol');
      const first = await login('carol');
      // Its last use a minute ago, so that the refresh's comes later without waiting.
      await sessionRows().update(
        { id: sessionOf(first.access_token) },
        { lastUsedAt: new Date(Date.now() - 60_000) },
      );
      const before = (await listSessions(first.access_token).expect(200))
        .body as SessionBody[];

      const second = (await refresh(first.refresh_token).expect(200))
        .body as TokenBody;
      const after = (await listSessions(second.access_token).expect(200))
        .body as SessionBody[];

      expect(after).toHaveLength(1);
      expect(after[0].id).toBe(before[0].id);
      expect(after[0].current).toBe(true);
      expect(Date.parse(after[0].lastUsedAt)).toBeGreaterThan(
        Date.parse(before[0].lastUsedAt),
      );
    });

    it('lists no ended session', async () => {
      await registerUser(testApp, 'dora');
      const kept = await login('dora');
      const revoked = await login('dora');
      await testApp
        .http()
        .post('/auth/revoke')
        .type('form')
        .send({ token: revoked.refresh_token })
        .expect(200);

      const sessions = (await listSessions(kept.access_token).expect(200))
        .body as SessionBody[];
      expect(sessions.map(({ id }) => id)).toEqual([
        sessionOf(kept.access_token),
      ]);
    });

    it('answers 403 insufficient_scope for a token without the profile scope', async () => {
      const admin = await login(
        ADMIN.username,
        'e2e-test',
        { scope: 'users:read' },
        ADMIN.password,
      );

      const response = await listSessions(admin.access_token);

      expectProblem(response, 403, '/users/me/sessions');
      expect(response.headers['www-authenticate']).toBe(
        `${MISSING_TOKEN_CHALLENGE}, error="insufficient_scope", scope="profile"`,
      );
    });
  });

  describe('DELETE /users/me/sessions/{id}', () => {
    it('answers 204 and ends only that session: its refresh and access tokens stop, the others keep working', async () => {
      await registerUser(testApp, 'erin');
      const current = await login('erin');
      const other = await login('erin');

      const response = await endSession(
        current.access_token,
        sessionOf(other.access_token),
      );

      expect(response.status).toBe(204);
      expect(response.text).toBe('');
      expectInvalidGrant(await refresh(other.refresh_token));
      expectInvalidToken(await me(other.access_token));
      await me(current.access_token).expect(200);
      const rotated = (await refresh(current.refresh_token).expect(200))
        .body as TokenBody;
      const sessions = (await listSessions(rotated.access_token).expect(200))
        .body as SessionBody[];
      expect(sessions.map(({ id }) => id)).toEqual([
        sessionOf(current.access_token),
      ]);
    });

    it('ends the current session too (logging out this device)', async () => {
      await registerUser(testApp, 'fiona');
      const current = await login('fiona');

      await endSession(
        current.access_token,
        sessionOf(current.access_token),
      ).expect(204);

      expectInvalidToken(await me(current.access_token));
      expectInvalidGrant(await refresh(current.refresh_token));
    });

    it('answers 404 for an id of no session', async () => {
      await registerUser(testApp, 'gina');
      const current = await login('gina');
      const id = randomUUID();

      expectProblem(
        await endSession(current.access_token, id),
        404,
        `/users/me/sessions/${id}`,
      );
      await me(current.access_token).expect(200);
    });

    it('answers 404 for another user’s session, which keeps working', async () => {
      await registerUser(testApp, 'hank');
      await registerUser(testApp, 'ivan');
      const hank = await login('hank');
      const ivan = await login('ivan');
      const id = sessionOf(ivan.access_token);

      expectProblem(
        await endSession(hank.access_token, id),
        404,
        `/users/me/sessions/${id}`,
      );

      await me(ivan.access_token).expect(200);
      await refresh(ivan.refresh_token).expect(200);
    });

    it('answers 404 for a session already ended', async () => {
      await registerUser(testApp, 'jane');
      const current = await login('jane');
      const other = await login('jane');
      const id = sessionOf(other.access_token);
      await endSession(current.access_token, id).expect(204);

      expectProblem(
        await endSession(current.access_token, id),
        404,
        `/users/me/sessions/${id}`,
      );
    });

    it('answers 400 for an id that is not a UUID', async () => {
      await registerUser(testApp, 'kate');
      const current = await login('kate');

      const response = await endSession(current.access_token, 'not-a-uuid');

      expect(response.status).toBe(400);
      expect(response.headers['content-type']).toMatch(
        /^application\/problem\+json/,
      );
      expect(response.body).toMatchObject({
        type: 'about:blank',
        status: 400,
        instance: '/users/me/sessions/not-a-uuid',
      });
      await me(current.access_token).expect(200);
    });
  });

  describe('PUT /users/me/password', () => {
    beforeAll(() => registerUser(testApp, 'paula.the.great'));

    it('answers 204 and ends every session: refresh tokens refused, earlier access tokens 401', async () => {
      await registerUser(testApp, 'liam');
      const laptop = await login('liam');
      const phone = await login('liam');

      const response = await changePassword(laptop.access_token, {
        currentPassword: GOOD_PASSWORD,
        newPassword: NEW_PASSWORD,
      });

      expect(response.status).toBe(204);
      expect(response.text).toBe('');
      expectInvalidToken(await me(laptop.access_token));
      expectInvalidToken(await me(phone.access_token));
      expectInvalidGrant(await refresh(laptop.refresh_token));
      expectInvalidGrant(await refresh(phone.refresh_token));
    });

    it('afterwards the new password logs in and the old one does not', async () => {
      await registerUser(testApp, 'mona');
      const session = await login('mona');
      await changePassword(session.access_token, {
        currentPassword: GOOD_PASSWORD,
        newPassword: NEW_PASSWORD,
      }).expect(204);

      expectInvalidGrant(await loginRequest('mona', GOOD_PASSWORD));
      await loginRequest('mona', NEW_PASSWORD).expect(200);
    });

    it('the access token of a login right after the change works at once', async () => {
      await registerUser(testApp, 'nina');
      const session = await login('nina');
      await changePassword(session.access_token, {
        currentPassword: GOOD_PASSWORD,
        newPassword: NEW_PASSWORD,
      }).expect(204);

      const fresh = await login('nina', 'e2e-test', {}, NEW_PASSWORD);
      // iat has whole-second precision: put the change's cut at the start of
      // the login's second, so the login falls in the same second as the
      // change, the case this is about, without timing the requests.
      await userRows().update(
        { username: 'nina' },
        {
          tokensValidAfter: new Date(decodeJwt(fresh.access_token).iat! * 1000),
        },
      );

      const response = await me(fresh.access_token);
      expect({ status: response.status, body: response.body }).toEqual({
        status: 200,
        body: expect.objectContaining({ username: 'nina' }),
      });
    });

    it('answers 400 naming currentPassword when it is wrong, and changes nothing', async () => {
      await registerUser(testApp, 'oscar');
      const session = await login('oscar');

      const response = await changePassword(session.access_token, {
        currentPassword: 'not the current password at all',
        newPassword: NEW_PASSWORD,
      });

      expectProblem(response, 400, '/users/me/password');
      expect(response.body.errors).toEqual([
        {
          field: 'currentPassword',
          message: expect.any(String),
        },
      ]);
      await me(session.access_token).expect(200);
      await loginRequest('oscar', GOOD_PASSWORD).expect(200);
      expectInvalidGrant(await loginRequest('oscar', NEW_PASSWORD));
    });

    it.each([
      ['too short', 'short one'],
      ['common', 'passwordpassword'],
      ['the username', 'Paula.The.Great'],
    ])(
      'answers 400 naming newPassword for a weak one (%s), and changes nothing',
      async (_case, newPassword) => {
        const session = await login('paula.the.great');

        const response = await changePassword(session.access_token, {
          currentPassword: GOOD_PASSWORD,
          newPassword,
        });

        expectProblem(response, 400, '/users/me/password');
        expect(response.body.errors).toEqual([
          {
            field: 'newPassword',
            message: expect.stringMatching(/^newPassword/),
          },
        ]);
        await me(session.access_token).expect(200);
        await loginRequest('paula.the.great', GOOD_PASSWORD).expect(200);
      },
    );

    it('answers 400 for a body without the fields, naming both', async () => {
      await registerUser(testApp, 'quinn');
      const session = await login('quinn');

      const response = await changePassword(session.access_token, {});

      expectProblem(response, 400, '/users/me/password');
      const fields = [
        ...new Set(
          (response.body.errors as { field: string }[]).map(
            ({ field }) => field,
          ),
        ),
      ].sort();
      expect(fields).toEqual(['currentPassword', 'newPassword']);
      await me(session.access_token).expect(200);
    });

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
          .start(
            checked!,
            'public',
            { scopes: ['profile'], resource: null, grantType: 'password' },
            {},
          ),
      ).toBeNull();
    });
  });

  describe('DELETE /users/me', () => {
    it('answers 204; the account’s tokens stop working and it can no longer log in', async () => {
      await registerUser(testApp, 'rita');
      const session = await login('rita');
      const other = await login('rita');

      const response = await testApp
        .http()
        .delete('/users/me')
        .set('Authorization', bearer(session.access_token))
        .send({ currentPassword: GOOD_PASSWORD });

      expect(response.status).toBe(204);
      expect(response.text).toBe('');
      expectInvalidToken(await me(session.access_token));
      expectInvalidToken(await me(other.access_token));
      expectInvalidGrant(await refresh(session.refresh_token));
      expectInvalidGrant(await refresh(other.refresh_token));
      expectInvalidGrant(await loginRequest('rita'));
    });

    it.each([
      [
        'without currentPassword',
        'rex',
        {},
        'currentPassword must be a string',
      ],
      [
        'with a wrong currentPassword',
        'roy',
        { currentPassword: 'not the password at all' },
        'currentPassword is not the current password',
      ],
    ])(
      'answers 400 %s, and the account stays, its tokens working',
      async (_case, username, body, message) => {
        await registerUser(testApp, username);
        const session = await login(username);

        const response = await testApp
          .http()
          .delete('/users/me')
          .set('Authorization', bearer(session.access_token))
          .send(body);

        expectProblem(response, 400, '/users/me');
        expect(response.body.errors).toEqual([
          { field: 'currentPassword', message },
        ]);
        await me(session.access_token).expect(200);
        await refresh(session.refresh_token).expect(200);
      },
    );

    it('answers 400 naming currentPassword for a DELETE without any body', async () => {
      await registerUser(testApp, 'rhea');
      const session = await login('rhea');

      const response = await testApp
        .http()
        .delete('/users/me')
        .set('Authorization', bearer(session.access_token));

      expectProblem(response, 400, '/users/me');
      expect(
        (response.body.errors as { field: string }[]).map(({ field }) => field),
      ).toEqual(['currentPassword']);
      await me(session.access_token).expect(200);
    });

    it('leaves other users alone', async () => {
      await registerUser(testApp, 'sam');
      await registerUser(testApp, 'tina');
      const sam = await login('sam');
      const tina = await login('tina');

      await testApp
        .http()
        .delete('/users/me')
        .set('Authorization', bearer(sam.access_token))
        .send({ currentPassword: GOOD_PASSWORD })
        .expect(204);

      const response = await me(tina.access_token).expect(200);
      expect(response.body.username).toBe('tina');
      await refresh(tina.refresh_token).expect(200);
    });
  });

  describe('PATCH /users/me', () => {
    beforeAll(() => registerUser(testApp, 'yuri'));

    const patchMe = (token: string, body: Record<string, unknown>) =>
      testApp
        .http()
        .patch('/users/me')
        .set('Authorization', bearer(token))
        .send(body);

    it('renames the user: 200 with the user resource, stored normalised; the new name logs in, the old one not', async () => {
      const uma = await registerUser(testApp, 'uma');
      const session = await login('uma');

      const response = await patchMe(session.access_token, {
        username: 'Uma.Renamed',
        currentPassword: GOOD_PASSWORD,
      });

      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        id: uma.id,
        username: 'uma.renamed',
        isActive: true,
        roles: ['user'],
        createdAt: expect.stringMatching(ISO_DATE),
        updatedAt: expect.stringMatching(ISO_DATE),
      });
      const current = await me(session.access_token).expect(200);
      expect(current.body.username).toBe('uma.renamed');
      await loginRequest('uma.renamed').expect(200);
      expectInvalidGrant(await loginRequest('uma'));
    });

    it.each([
      [
        'without currentPassword',
        'ugo',
        {},
        'currentPassword is required to change the username',
      ],
      [
        'with a wrong currentPassword',
        'ida',
        { currentPassword: 'not the password at all' },
        'currentPassword is not the current password',
      ],
    ])(
      'answers 400 to a rename %s, and the name stays',
      async (_case, name, extra, message) => {
        await registerUser(testApp, name);
        const session = await login(name);

        const response = await patchMe(session.access_token, {
          username: 'ugo.renamed',
          ...extra,
        });

        expectProblem(response, 400, '/users/me');
        expect(response.body.errors).toEqual([
          { field: 'currentPassword', message },
        ]);
        const current = await me(session.access_token).expect(200);
        expect(current.body.username).toBe(name);
        await loginRequest(name).expect(200);
      },
    );

    it('answers 200 unchanged for an empty body', async () => {
      const vera = await registerUser(testApp, 'vera');
      const session = await login('vera');

      const response = await patchMe(session.access_token, {}).expect(200);

      expect(response.body).toMatchObject({ id: vera.id, username: 'vera' });
    });

    it('answers 409 when the username is taken, in any case', async () => {
      await registerUser(testApp, 'walt');
      await registerUser(testApp, 'xena');
      const session = await login('walt');

      expectProblem(
        await patchMe(session.access_token, {
          username: 'XENA',
          currentPassword: GOOD_PASSWORD,
        }),
        409,
        '/users/me',
      );
      const current = await me(session.access_token).expect(200);
      expect(current.body.username).toBe('walt');
    });

    it.each([
      ['roles', { roles: ['admin'] }],
      ['isActive', { isActive: false }],
      ['password', { password: NEW_PASSWORD }],
    ])(
      'answers 400 naming %s, a field a user may not change here, and changes nothing',
      async (field, body) => {
        const session = await login('yuri');

        const response = await patchMe(session.access_token, body);

        expectProblem(response, 400, '/users/me');
        expect(
          (response.body.errors as { field: string }[]).map(
            (error) => error.field,
          ),
        ).toEqual([field]);
        const current = await me(session.access_token).expect(200);
        expect(current.body).toMatchObject({
          username: 'yuri',
          roles: ['user'],
          isActive: true,
        });
        await loginRequest('yuri').expect(200);
      },
    );

    it('answers 400 naming username for an invalid one', async () => {
      await registerUser(testApp, 'zoe');
      const session = await login('zoe');

      const response = await patchMe(session.access_token, {
        username: 'x',
        currentPassword: GOOD_PASSWORD,
      });

      expectProblem(response, 400, '/users/me');
      expect(response.body.errors[0].field).toBe('username');
    });

    it('answers 400, not 500, naming username for an explicit null', async () => {
      const token = await passwordGrant(
        testApp,
        ADMIN.username,
        ADMIN.password,
      );

      const response = await patchMe(token, { username: null }).expect(400);

      const errors = response.body.errors as { field: string }[];
      expect(errors.map((error) => error.field)).toContain('username');
    });
  });
});
