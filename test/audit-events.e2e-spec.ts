import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { AuditCleanup } from '../src/audit/audit-cleanup.service.js';
import { SigningKeysService } from '../src/oauth/keys/signing-keys.service.js';
import { InvalidGrant } from '../src/oauth/protocol/oauth.errors.js';
import { TokenAudiences } from '../src/oauth/token-audiences.service.js';
import { TokenGrantsService } from '../src/oauth/token-grants.service.js';
import { Client } from '../src/clients/client.entity.js';
import { RefreshToken } from '../src/sessions/refresh-token.entity.js';
import { User } from '../src/users/user.entity.js';
import { CredentialChecker } from '../src/users/credential-checker.service.js';
import { ProfileChanges } from '../src/users/profile-changes.service.js';
import {
  expectProblem,
  MISSING_TOKEN_CHALLENGE,
} from './utils/expectations.js';
import type { TokenBody } from './utils/flows.js';
import {
  ADMIN,
  ADMIN_ENV,
  createClientAs,
  GOOD_PASSWORD,
  passwordGrant,
  registerUser,
  tokenClient,
} from './utils/flows.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp } from './utils/test-app.js';

const USER_AGENT = 'audit-e2e/1.0 (a browser somewhere)';
const NEW_PASSWORD = 'a brand new passphrase for bob';
const DAY_MS = 24 * 3600 * 1000;

interface AuditEventBody {
  id: string;
  occurredAt: string;
  type: string;
  userId: string | null;
  username: string | null;
  actorId: string | null;
  clientId: string | null;
  ipAddress: string | null;
  userAgent: string | null;
  details: Record<string, unknown> | null;
}

interface AuditEventPage {
  items: AuditEventBody[];
  total: number;
  page: number;
  limit: number;
}

/** The address supertest connects from, however Node writes it. */
const LOOPBACK = expect.stringMatching(/^(::ffff:)?127\.0\.0\.1$/);

describe('audit log', () => {
  let testApp: TestApp;
  let adminToken: string;
  let adminId: string;
  /** Every token and secret a test used: none may be stored in the audit log. */
  const secrets: string[] = [GOOD_PASSWORD, NEW_PASSWORD, ADMIN.password];

  beforeAll(async () => {
    testApp = await createTestApp(ADMIN_ENV);
    adminToken = await passwordGrant(testApp, ADMIN.username, ADMIN.password);
    secrets.push(adminToken);
    adminId = (
      (
        await testApp
          .http()
          .get('/users/me')
          .set('Authorization', `Bearer ${adminToken}`)
          .expect(200)
      ).body as { id: string }
    ).id;
  });
  afterAll(() => testApp.close());

  const { tokenRequest, loginRequest, login } = tokenClient(() => testApp);

  const listEvents = (query: Record<string, string | string[]> = {}) =>
    testApp
      .http()
      .get('/audit-events')
      .query(query)
      .set('Authorization', `Bearer ${adminToken}`);

  /** The newest event of this type about this user (or username), which must exist. */
  async function latest(
    type: string,
    about: { userId?: string; username?: string } = {},
  ): Promise<AuditEventBody> {
    const page = (
      await listEvents({
        type,
        ...(about.userId ? { userId: about.userId } : {}),
        limit: '100',
      }).expect(200)
    ).body as AuditEventPage;
    const event = page.items.find(
      (item) =>
        about.username === undefined || item.username === about.username,
    );
    expect(event).toBeDefined();
    return event!;
  }

  /** Logs in as this user from USER_AGENT; the tokens join the secrets. */
  async function loginFromBrowser(username: string, password = GOOD_PASSWORD) {
    const response = await loginRequest(username, password)
      .set('User-Agent', USER_AGENT)
      .expect(200);
    const body = response.body as TokenBody;
    secrets.push(body.access_token, body.refresh_token);
    return body;
  }

  async function register(username: string) {
    const response = await testApp
      .http()
      .post('/users')
      .set('User-Agent', USER_AGENT)
      .send({ username, password: GOOD_PASSWORD })
      .expect(201);
    return response.body as { id: string; username: string };
  }

  describe('each event appears after the action that causes it, with its origin', () => {
    it('user.registered: by the user, or by an administrator', async () => {
      const alice = await register('alice');
      expect(await latest('user.registered', { userId: alice.id })).toEqual({
        id: expect.any(String),
        occurredAt: expect.any(String),
        type: 'user.registered',
        userId: alice.id,
        username: 'alice',
        actorId: null,
        clientId: null,
        ipAddress: LOOPBACK,
        userAgent: USER_AGENT,
        details: { by: 'self', roles: ['user'] },
      });

      const created = await testApp
        .http()
        .post('/users')
        .set('Authorization', `Bearer ${adminToken}`)
        .send({ username: 'created-by-admin', password: GOOD_PASSWORD })
        .expect(201);
      expect(
        await latest('user.registered', {
          userId: (created.body as { id: string }).id,
        }),
      ).toMatchObject({ actorId: adminId, details: { by: 'admin' } });
    });

    it('login.succeeded: the session it started and the client it came through', async () => {
      const carol = await register('carol');
      const tokens = await loginFromBrowser('carol');
      const event = await latest('login.succeeded', { userId: carol.id });
      const sessions = await testApp
        .http()
        .get('/users/me/sessions')
        .set('Authorization', `Bearer ${tokens.access_token}`)
        .expect(200);
      expect(event).toMatchObject({
        username: 'carol',
        clientId: 'public',
        ipAddress: LOOPBACK,
        userAgent: USER_AGENT,
        details: {
          sessionId: (sessions.body as { id: string }[])[0].id,
          scope: 'profile',
        },
      });
    });

    it('login.failed: the name attempted and why, never the password', async () => {
      const dave = await register('dave');
      const wrongPassword = 'not the password of dave at all';
      secrets.push(wrongPassword);
      await loginRequest('dave', wrongPassword)
        .set('User-Agent', USER_AGENT)
        .expect(400);
      expect(await latest('login.failed', { userId: dave.id })).toMatchObject({
        username: 'dave',
        clientId: 'public',
        ipAddress: LOOPBACK,
        userAgent: USER_AGENT,
        details: { reason: 'wrong_password' },
      });

      await loginRequest('nobody-here', wrongPassword).expect(400);
      expect(
        await latest('login.failed', { username: 'nobody-here' }),
      ).toMatchObject({ userId: null, details: { reason: 'unknown_user' } });
    });

    it('login.failed: scope_not_allowed, when the password is right but the roles do not allow the scope', async () => {
      const uma = await register('uma');

      const response = await loginRequest('uma', GOOD_PASSWORD, {
        scope: 'profile users:read',
      }).expect(400);

      expect(response.body).toMatchObject({ error: 'invalid_scope' });
      expect(await latest('login.failed', { userId: uma.id })).toMatchObject({
        username: 'uma',
        details: { reason: 'scope_not_allowed' },
      });
    });

    it('refuses an unknown scope before the password is checked, leaving no login trace', async () => {
      const vic = await register('vic');

      const response = await loginRequest('vic', 'not the password of vic', {
        scope: 'profile everything:write',
      }).expect(400);

      expect(response.body).toMatchObject({ error: 'invalid_scope' });
      const failures = (
        await listEvents({ userId: vic.id, type: 'login.failed' }).expect(200)
      ).body as AuditEventPage;
      expect(failures.total).toBe(0);
    });

    it('login.failed: superseded, when the password changed while the login ran', async () => {
      const lee = await register('lee');
      // The login has checked the password and is about to start its session...
      const checked = await testApp.app
        .get(CredentialChecker)
        .verifyCredentials('lee', GOOD_PASSWORD);
      // ...when the password changes.
      await testApp.app
        .get(ProfileChanges)
        .changePassword(checked!, GOOD_PASSWORD, NEW_PASSWORD);
      await expect(
        testApp.app.get(TokenGrantsService).passwordGrant(
          checked!,
          { clientId: 'public', confidential: false, client: null },
          {
            audience: testApp.app.get(TokenAudiences).own,
            clientScopes: ['profile'],
            allowance: null,
          },
          undefined,
          { ipAddress: '192.0.2.1', userAgent: USER_AGENT },
        ),
      ).rejects.toThrow(InvalidGrant);

      expect(await latest('login.failed', { userId: lee.id })).toMatchObject({
        ipAddress: '192.0.2.1',
        details: { reason: 'superseded' },
      });
      const logins = (
        await listEvents({ userId: lee.id, type: 'login.succeeded' }).expect(
          200,
        )
      ).body as AuditEventPage;
      expect(logins.total).toBe(0);
    });

    it('refresh_token.reuse_detected: the session it ended', async () => {
      const erin = await register('erin');
      const first = await loginFromBrowser('erin');
      const second = (
        await tokenRequest({
          grant_type: 'refresh_token',
          refresh_token: first.refresh_token,
        }).expect(200)
      ).body as TokenBody;
      secrets.push(second.access_token, second.refresh_token);

      await tokenRequest({
        grant_type: 'refresh_token',
        refresh_token: first.refresh_token,
      })
        .set('User-Agent', 'a thief')
        .expect(400);

      const login = await latest('login.succeeded', { userId: erin.id });
      expect(
        await latest('refresh_token.reuse_detected', { userId: erin.id }),
      ).toMatchObject({
        username: 'erin',
        clientId: 'public',
        ipAddress: LOOPBACK,
        userAgent: 'a thief',
        details: { sessionId: login.details!.sessionId },
      });
    });

    it('password.changed', async () => {
      const bob = await register('bob');
      const { access_token } = await loginFromBrowser('bob');
      await testApp
        .http()
        .put('/users/me/password')
        .set('Authorization', `Bearer ${access_token}`)
        .set('User-Agent', USER_AGENT)
        .send({ currentPassword: GOOD_PASSWORD, newPassword: NEW_PASSWORD })
        .expect(204);
      expect(
        await latest('password.changed', { userId: bob.id }),
      ).toMatchObject({
        username: 'bob',
        actorId: bob.id,
        ipAddress: LOOPBACK,
        userAgent: USER_AGENT,
      });
    });

    it('password.confirmation_failed: a wrong current password, for each route that asks for it', async () => {
      const kit = await register('kit');
      const { access_token } = await loginFromBrowser('kit');
      const asKit = (request: ReturnType<ReturnType<TestApp['http']>['put']>) =>
        request
          .set('Authorization', `Bearer ${access_token}`)
          .set('User-Agent', USER_AGENT);
      const attempts = [
        () =>
          asKit(testApp.http().put('/users/me/password')).send({
            currentPassword: 'not it',
            newPassword: NEW_PASSWORD,
          }),
        () =>
          asKit(testApp.http().patch('/users/me')).send({
            username: 'kit2',
            currentPassword: 'not it',
          }),
        () =>
          asKit(testApp.http().delete('/users/me')).send({
            currentPassword: 'not it',
          }),
      ];
      for (const attempt of attempts) await attempt().expect(400);

      const page = (
        await listEvents({
          type: 'password.confirmation_failed',
          userId: kit.id,
        }).expect(200)
      ).body as AuditEventPage;
      expect(page.items).toEqual(
        ['deletion', 'rename', 'password_change'].map((operation) =>
          expect.objectContaining({
            username: 'kit',
            actorId: kit.id,
            ipAddress: LOOPBACK,
            userAgent: USER_AGENT,
            details: { operation, reason: 'wrong_password' },
          }),
        ),
      );
    });

    it('user.renamed, with the old and the new name', async () => {
      const lou = await register('lou');
      const { access_token } = await loginFromBrowser('lou');
      await testApp
        .http()
        .patch('/users/me')
        .set('Authorization', `Bearer ${access_token}`)
        .set('User-Agent', USER_AGENT)
        .send({ username: 'Lou.Renamed', currentPassword: GOOD_PASSWORD })
        .expect(200);
      expect(await latest('user.renamed', { userId: lou.id })).toMatchObject({
        username: 'lou.renamed',
        actorId: lou.id,
        userAgent: USER_AGENT,
        details: { from: 'lou', to: 'lou.renamed' },
      });
    });

    it('session.ended: a logout, and a revocation', async () => {
      const fay = await register('fay');
      const phone = await loginFromBrowser('fay');
      const laptop = await loginFromBrowser('fay');
      const sessions = (
        await testApp
          .http()
          .get('/users/me/sessions')
          .set('Authorization', `Bearer ${phone.access_token}`)
          .expect(200)
      ).body as { id: string; current: boolean }[];
      const phoneSession = sessions.find((session) => session.current)!;

      await testApp
        .http()
        .delete(`/users/me/sessions/${phoneSession.id}`)
        .set('Authorization', `Bearer ${laptop.access_token}`)
        .set('User-Agent', USER_AGENT)
        .expect(204);
      expect(await latest('session.ended', { userId: fay.id })).toMatchObject({
        actorId: fay.id,
        userAgent: USER_AGENT,
        details: { sessionId: phoneSession.id, reason: 'logout' },
      });

      await testApp
        .http()
        .post('/auth/revoke')
        .type('form')
        .set('User-Agent', 'the laptop')
        .send({ token: laptop.refresh_token })
        .expect(200);
      expect(await latest('session.ended', { userId: fay.id })).toMatchObject({
        clientId: 'public',
        userAgent: 'the laptop',
        details: { reason: 'revoked' },
      });
    });

    it('user.deactivated, user.reactivated and user.roles_changed, by the administrator', async () => {
      const gus = await register('gus');
      const patch = (body: object) =>
        testApp
          .http()
          .patch(`/users/${gus.id}`)
          .set('Authorization', `Bearer ${adminToken}`)
          .set('User-Agent', USER_AGENT)
          .send(body)
          .expect(200);

      await patch({ isActive: false });
      expect(
        await latest('user.deactivated', { userId: gus.id }),
      ).toMatchObject({
        username: 'gus',
        actorId: adminId,
        userAgent: USER_AGENT,
      });
      await loginRequest('gus').expect(400);
      expect(await latest('login.failed', { userId: gus.id })).toMatchObject({
        details: { reason: 'inactive_account' },
      });

      await patch({ isActive: true });
      expect(
        await latest('user.reactivated', { userId: gus.id }),
      ).toMatchObject({ actorId: adminId });

      await patch({ roles: ['user', 'admin'] });
      expect(
        await latest('user.roles_changed', { userId: gus.id }),
      ).toMatchObject({
        actorId: adminId,
        details: { from: ['user'], to: ['user', 'admin'] },
      });
    });

    it('user.deleted: by the user themselves, or by an administrator; the history outlives the account', async () => {
      const hal = await register('hal');
      const { access_token } = await loginFromBrowser('hal');
      await testApp
        .http()
        .delete('/users/me')
        .set('Authorization', `Bearer ${access_token}`)
        .set('User-Agent', USER_AGENT)
        .send({ currentPassword: GOOD_PASSWORD })
        .expect(204);
      expect(await latest('user.deleted', { userId: hal.id })).toMatchObject({
        username: 'hal',
        actorId: hal.id,
        userAgent: USER_AGENT,
        details: { by: 'self' },
      });
      // The operator investigating the deleted account still finds its whole history.
      const history = (await listEvents({ userId: hal.id }).expect(200))
        .body as AuditEventPage;
      expect(history.items.map((event) => event.type)).toEqual([
        'user.deleted',
        'login.succeeded',
        'user.registered',
      ]);

      const ivy = await register('ivy');
      await testApp
        .http()
        .delete(`/users/${ivy.id}`)
        .set('Authorization', `Bearer ${adminToken}`)
        .expect(204);
      expect(await latest('user.deleted', { userId: ivy.id })).toMatchObject({
        username: 'ivy',
        actorId: adminId,
        details: { by: 'admin' },
      });
    });

    it('client.created, client_authentication.failed and client.deleted', async () => {
      const client = await createClientAs(testApp, adminToken, {
        name: 'billing',
        allowedScopes: ['users:read'],
        allowedGrantTypes: ['client_credentials'],
      });
      secrets.push(client.clientSecret);
      expect(
        (await listEvents({ type: 'client.created' }).expect(200)).body,
      ).toMatchObject({
        items: [
          {
            clientId: client.id,
            actorId: adminId,
            details: {
              name: 'billing',
              allowedScopes: ['users:read'],
              allowedGrantTypes: ['client_credentials'],
            },
          },
        ],
      });

      const wrongSecret = 'not-the-secret-of-billing';
      secrets.push(wrongSecret);
      await tokenRequest({ grant_type: 'client_credentials' })
        .auth(client.id, wrongSecret)
        .set('User-Agent', USER_AGENT)
        .expect(401);
      expect(
        (await listEvents({ type: 'client_authentication.failed' }).expect(200))
          .body,
      ).toMatchObject({
        items: [
          {
            clientId: client.id,
            ipAddress: LOOPBACK,
            userAgent: USER_AGENT,
            details: { method: 'client_secret_basic' },
          },
        ],
      });

      await testApp
        .http()
        .delete(`/clients/${client.id}`)
        .set('Authorization', `Bearer ${adminToken}`)
        .expect(204);
      expect(
        (await listEvents({ type: 'client.deleted' }).expect(200)).body,
      ).toMatchObject({
        items: [{ clientId: client.id, details: { name: 'billing' } }],
      });
    });

    it('signing_key.rotated, as `npm run keys:rotate` does it', async () => {
      const { kid, generation } = await testApp.app
        .get(SigningKeysService)
        .rotate();
      expect(
        (await listEvents({ type: 'signing_key.rotated' }).expect(200)).body,
      ).toMatchObject({
        items: [
          {
            userId: null,
            ipAddress: null,
            details: { kid, generation },
          },
        ],
        total: 1,
      });
    });
  });

  describe('GET /audit-events', () => {
    let joan: { id: string };
    beforeAll(async () => {
      joan = await registerUser(testApp, 'joan');
      for (let attempt = 0; attempt < 3; attempt++) {
        const guess = `wrong passphrase number ${attempt}`;
        secrets.push(guess);
        await loginRequest('joan', guess).expect(400);
      }
      await login('joan');
    });

    it('lists the newest first, a page at a time, with the total', async () => {
      const first = (
        await listEvents({ userId: joan.id, limit: '2' }).expect(200)
      ).body as AuditEventPage;
      const second = (
        await listEvents({ userId: joan.id, limit: '2', page: '2' }).expect(200)
      ).body as AuditEventPage;
      expect({
        total: first.total,
        page: first.page,
        limit: first.limit,
      }).toEqual({ total: 5, page: 1, limit: 2 });
      expect(
        [...first.items, ...second.items].map((event) => event.type),
      ).toEqual([
        'login.succeeded',
        'login.failed',
        'login.failed',
        'login.failed',
      ]);
      const times = [...first.items, ...second.items].map((event) =>
        Date.parse(event.occurredAt),
      );
      expect(times).toEqual([...times].sort((a, b) => b - a));
    });

    it('filters by one type or several (repeated or comma-separated)', async () => {
      const one = (
        await listEvents({ userId: joan.id, type: 'login.succeeded' }).expect(
          200,
        )
      ).body as AuditEventPage;
      expect(one.total).toBe(1);

      const repeated = (
        await listEvents({
          userId: joan.id,
          type: ['login.succeeded', 'user.registered'],
        }).expect(200)
      ).body as AuditEventPage;
      const commas = (
        await listEvents({
          userId: joan.id,
          type: 'login.succeeded,user.registered',
        }).expect(200)
      ).body as AuditEventPage;
      expect(repeated.items.map((event) => event.type)).toEqual([
        'login.succeeded',
        'user.registered',
      ]);
      expect(commas.items).toEqual(repeated.items);
    });

    it('filters by a time range, bounds included', async () => {
      const all = (await listEvents({ userId: joan.id }).expect(200))
        .body as AuditEventPage;
      const [newest] = all.items;
      const oldest = all.items[all.items.length - 1];

      const fromNewest = (
        await listEvents({ userId: joan.id, since: newest.occurredAt }).expect(
          200,
        )
      ).body as AuditEventPage;
      expect(fromNewest.items.map((event) => event.id)).toContain(newest.id);
      expect(fromNewest.items.map((event) => event.id)).not.toContain(
        oldest.id,
      );

      const untilOldest = (
        await listEvents({ userId: joan.id, until: oldest.occurredAt }).expect(
          200,
        )
      ).body as AuditEventPage;
      expect(untilOldest.items.map((event) => event.id)).toEqual([oldest.id]);

      const future = new Date(Date.now() + DAY_MS).toISOString();
      expect(
        (
          (await listEvents({ userId: joan.id, since: future }).expect(200))
            .body as AuditEventPage
        ).total,
      ).toBe(0);
    });

    it.each([
      ['an unknown type', { type: 'login.maybe' }, 'type'],
      ['a user id that is no uuid', { userId: '42' }, 'userId'],
      ['a time that is no ISO 8601 instant', { since: 'yesterday' }, 'since'],
      ['a page below 1', { page: '0' }, 'page'],
      ['a limit above 100', { limit: '101' }, 'limit'],
    ])('answers 400 naming the field for %s', async (_case, query, field) => {
      const response = await listEvents(query);
      expectProblem(response, 400, '/audit-events');
      expect(response.body).toMatchObject({
        errors: [expect.objectContaining({ field })],
      });
    });

    it('answers 401 without a token', async () => {
      const response = await testApp.http().get('/audit-events');
      expectProblem(response, 401, '/audit-events');
      expect(response.headers['www-authenticate']).toBe(
        MISSING_TOKEN_CHALLENGE,
      );
    });

    it('answers 403 insufficient_scope to a user who is no administrator', async () => {
      const token = await passwordGrant(testApp, 'joan');
      const response = await testApp
        .http()
        .get('/audit-events')
        .set('Authorization', `Bearer ${token}`);
      expectProblem(response, 403, '/audit-events');
      expect(response.headers['www-authenticate']).toContain(
        'error="insufficient_scope", scope="audit:read"',
      );
    });
  });

  it('stores no password, token, secret or hash in any column', async () => {
    const dataSource = testApp.app.get(DataSource);
    const hashes = [
      ...(await dataSource.getRepository(User).find()).map(
        (user) => user.passwordHash,
      ),
      ...(await dataSource.getRepository(RefreshToken).find()).map(
        (token) => token.tokenHash,
      ),
      ...(await dataSource.getRepository(Client).find()).flatMap(
        (client) => client.secretHash ?? [],
      ),
    ];
    const rows = await dataSource.query<Record<string, unknown>[]>(
      'SELECT * FROM audit_events',
    );
    expect(rows.length).toBeGreaterThan(20);
    const stored = JSON.stringify(rows);
    const found = [...secrets, ...hashes].filter((secret) =>
      stored.includes(secret),
    );
    expect(found).toEqual([]);
  });

  it('writes a change and its event together: when the event cannot be written, the change is undone', async () => {
    const kim = await register('kim');
    const { access_token } = await loginFromBrowser('kim');
    const dataSource = testApp.app.get(DataSource);
    const hashOf = async () =>
      (await dataSource.getRepository(User).findOneByOrFail({ id: kim.id }))
        .passwordHash;
    const before = await hashOf();

    await dataSource.query('ALTER TABLE audit_events RENAME TO audit_away');
    try {
      const response = await testApp
        .http()
        .put('/users/me/password')
        .set('Authorization', `Bearer ${access_token}`)
        .send({ currentPassword: GOOD_PASSWORD, newPassword: NEW_PASSWORD });
      expectProblem(response, 500, '/users/me/password');
    } finally {
      await dataSource.query('ALTER TABLE audit_away RENAME TO audit_events');
    }
    expect(await hashOf()).toBe(before);
  });

  it(`keeps events AUDIT_RETENTION_DAYS (365 by default), then the hourly cleanup removes them`, async () => {
    const events = () =>
      testApp.app
        .get(DataSource)
        .query<unknown[]>('SELECT id FROM audit_events');
    const before = (await events()).length;
    const cleanup = testApp.app.get(AuditCleanup);

    await cleanup.removeExpired(new Date(Date.now() + 364 * DAY_MS));
    expect((await events()).length).toBe(before);

    await cleanup.removeExpired(new Date(Date.now() + 366 * DAY_MS));
    expect(await events()).toEqual([]);
  });
});
