import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { AuditEvent } from '../../src/audit/audit-event.entity.js';
import { LoginDevice } from '../../src/users/credentials/login-device.entity.js';
import { MAX_DEVICES_PER_ACCOUNT } from '../../src/users/credentials/login-devices.service.js';
import {
  expectOAuthError,
  expectInvalidGrant,
  expectProblem,
} from '../utils/expectations.js';
import {
  ADMIN,
  ADMIN_ENV,
  GOOD_PASSWORD,
  passwordGrant,
  registerUser,
  tokenClient,
} from '../utils/flows.js';
import { useMovableClock } from '../utils/clock.js';
import { databaseSnapshot } from '../utils/security.js';
import type { TestApp } from '../utils/test-app.js';
import { createTestApp } from '../utils/test-app.js';

const THRESHOLD = 3;
const retryAfterOf = (response: Response) =>
  Number(response.headers['retry-after']);

/**
 * Slow, spread-out password guessing: every guess from a new address, so
 * the per-IP limit never sees it. The per-account back-off must: after
 * THRESHOLD attempts each guess makes the next wait, the wait grows, and
 * a success ends it.
 */
describe('password guessing against one account', () => {
  let testApp: TestApp;
  const tokens = tokenClient(() => testApp);
  /** The waits pass by moving the clock, not by waiting them out. */
  const clock = useMovableClock();
  let address = 0;
  /** A login from an address never seen before. */
  const guess = (username: string, password: string) =>
    tokens
      .loginRequest(username, password)
      .set('X-Forwarded-For', `198.51.100.${++address}`);

  beforeAll(async () => {
    testApp = await createTestApp({
      ...ADMIN_ENV,
      TRUST_PROXY: 'loopback',
      THROTTLE_TOKEN_LIMIT: '2',
      LOGIN_BACKOFF_THRESHOLD: String(THRESHOLD),
      LOGIN_BACKOFF_BASE_MS: '1000',
      LOGIN_BACKOFF_MAX_MS: '2000',
    });
    await registerUser(testApp, 'alice');
    await registerUser(testApp, 'bob');
  });
  afterAll(() => testApp.close());

  it('makes the account wait after the threshold: 429 with Retry-After, even for the right password, and nothing is issued', async () => {
    for (let i = 0; i < THRESHOLD; i++) {
      expectInvalidGrant(await guess('alice', `wrong guess ${i}`));
    }
    const before = await databaseSnapshot(testApp);

    const refused = await guess('alice', GOOD_PASSWORD);

    expectOAuthError(refused, 429, 'temporarily_unavailable');
    expect(retryAfterOf(refused)).toBe(1);
    expect(await databaseSnapshot(testApp)).toEqual(before);
  });

  it('leaves other accounts alone', async () => {
    await passwordGrant(testApp, 'bob');
  });

  it('grows the wait with each further attempt, up to LOGIN_BACKOFF_MAX_MS', async () => {
    clock.advance(1050);
    expectInvalidGrant(await guess('alice', 'wrong after the wait'));

    const refused = await guess('alice', GOOD_PASSWORD);

    expectOAuthError(refused, 429, 'temporarily_unavailable');
    expect(retryAfterOf(refused)).toBe(2);
    clock.advance(2050);
    expectInvalidGrant(await guess('alice', 'wrong after the longer wait'));
    expect(retryAfterOf(await guess('alice', GOOD_PASSWORD))).toBe(2);
  });

  it('is a delay, not a lock: the right password after the wait logs in, and the count starts afresh', async () => {
    clock.advance(2050);
    await guess('alice', GOOD_PASSWORD).expect(200);

    for (let i = 0; i < THRESHOLD; i++) {
      expectInvalidGrant(await guess('alice', `wrong again ${i}`));
    }
  });

  it('treats an unknown username exactly like a known one, so the 429 reveals nothing', async () => {
    const answers: Response[] = [];
    for (const username of ['bob', 'nobody-here']) {
      for (let i = 0; i < THRESHOLD; i++) {
        expectInvalidGrant(await guess(username, `wrong ${i}`));
      }
      answers.push(await guess(username, 'wrong once more'));
    }

    const [known, unknown] = answers.map((response) => ({
      status: response.status,
      retryAfter: response.headers['retry-after'],
      body: response.body as unknown,
    }));
    expect(known.status).toBe(429);
    expect(unknown).toEqual(known);
  });

  it('holds back a burst of guesses sent at once: no more than the threshold reach the password check', async () => {
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => guess('carol', `burst ${i}`)),
    );

    const statuses = answers.map((response) => response.status);
    expect(
      statuses.filter((status) => status === 400).length,
    ).toBeLessThanOrEqual(THRESHOLD);
    expect(
      statuses.filter((status) => status === 429).length,
    ).toBeGreaterThanOrEqual(10 - THRESHOLD);
  });

  it('records the refused attempts of each username in the audit log as too_many_attempts', async () => {
    const adminToken = await passwordGrant(
      testApp,
      ADMIN_ENV.ADMIN_USERNAME,
      ADMIN_ENV.ADMIN_PASSWORD,
    );
    const response = await testApp
      .http()
      .get('/audit-events?type=login.failed&limit=100')
      .set('Authorization', `Bearer ${adminToken}`)
      .expect(200);

    const refusals = (
      response.body as {
        items: { username: string; details: { reason: string } }[];
      }
    ).items.filter((event) => event.details.reason === 'too_many_attempts');
    expect(refusals.map((event) => event.username)).toContain('alice');
    expect(refusals.map((event) => event.username)).toContain('nobody-here');
  });
});

/** The device cookie of a token response, as a `Cookie` header sends it back. */
function deviceCookieOf(response: Response): string {
  const setCookie = ([] as string[]).concat(
    response.headers['set-cookie'] ?? [],
  );
  const cookie = setCookie.find((line) => line.startsWith('login-device='));
  if (cookie === undefined) throw new Error('no device cookie was set');
  return cookie.split(';', 1)[0];
}

/**
 * OWASP "Slow Brute Force Attacks", device cookies: a guesser who keeps an
 * account's back-off armed must not keep its owner out. The owner's
 * device, which logged in before, has a bucket of its own; every other
 * attempt, from whatever address, shares the username's.
 */
describe('a guesser holding an account back (device cookies)', () => {
  let testApp: TestApp;
  const tokens = tokenClient(() => testApp);
  let address = 0;
  /** A login from an address never seen before, with the cookie given. */
  const attempt = (username: string, password: string, cookie?: string) => {
    const request = tokens
      .loginRequest(username, password)
      .set('X-Forwarded-For', `203.0.113.${++address}`);
    return cookie === undefined ? request : request.set('Cookie', cookie);
  };
  /** Wrong guesses until the username's wait is armed, then one more to prove it. */
  const lockOut = async (username: string) => {
    for (let i = 0; i < THRESHOLD; i++) {
      expectInvalidGrant(await attempt(username, `wrong guess ${i}`));
    }
    expectOAuthError(
      await attempt(username, 'one more guess'),
      429,
      'temporarily_unavailable',
    );
  };
  let rootDevice: string;
  let bobDevice: string;

  beforeAll(async () => {
    testApp = await createTestApp({
      ...ADMIN_ENV,
      TRUST_PROXY: 'loopback',
      LOGIN_BACKOFF_THRESHOLD: String(THRESHOLD),
      // Long enough that no wait of this file ends while it runs.
      LOGIN_BACKOFF_BASE_MS: '600000',
      LOGIN_BACKOFF_MAX_MS: '900000',
      // The longest window, so that the rows counted do not straddle two.
      AUDIT_REPEAT_WINDOW_SECONDS: '604800',
    });
    await registerUser(testApp, 'bob');
    await registerUser(testApp, 'carol');
    rootDevice = deviceCookieOf(
      await attempt(ADMIN.username, ADMIN.password).expect(200),
    );
    bobDevice = deviceCookieOf(await attempt('bob', GOOD_PASSWORD).expect(200));
    await lockOut(ADMIN.username);
  });
  afterAll(() => testApp.close());

  it('sets an HttpOnly, SameSite=Strict device cookie on a successful password grant', async () => {
    const response = await attempt('carol', GOOD_PASSWORD).expect(200);

    const cookie = ([] as string[])
      .concat(response.headers['set-cookie'] ?? [])
      .find((line) => line.startsWith('login-device='));
    expect(cookie).toMatch(/^login-device=[A-Za-z0-9_-]{43}; /);
    expect(cookie).toContain('; HttpOnly');
    expect(cookie).toContain('; SameSite=Strict');
    expect(cookie).toContain('; Path=/');
    expect(cookie).toContain('; Max-Age=7776000');
  });

  it('lets the owner in with the right password from the device that logged in before', async () => {
    const response = await attempt(
      ADMIN.username,
      ADMIN.password,
      rootDevice,
    ).expect(200);

    expect((response.body as { access_token: string }).access_token).toEqual(
      expect.any(String),
    );
    rootDevice = deviceCookieOf(response);
  });

  it('still refuses the right password without the cookie, from any address', async () => {
    const refused = await attempt(ADMIN.username, ADMIN.password);

    expectOAuthError(refused, 429, 'temporarily_unavailable');
    expect(retryAfterOf(refused)).toBeGreaterThan(60);
  });

  it("refuses a forged cookie and another account's device cookie like no cookie", async () => {
    for (const cookie of [
      'login-device=forged-value-of-the-right-shape-000000000000',
      bobDevice,
    ]) {
      expectOAuthError(
        await attempt(ADMIN.username, ADMIN.password, cookie),
        429,
        'temporarily_unavailable',
      );
    }
  });

  it('renews the cookie at each login: the copy of an older one no longer counts', async () => {
    const older = rootDevice;
    rootDevice = deviceCookieOf(
      await attempt(ADMIN.username, ADMIN.password, rootDevice).expect(200),
    );

    expectOAuthError(
      await attempt(ADMIN.username, ADMIN.password, older),
      429,
      'temporarily_unavailable',
    );
  });

  it("gives the device a back-off of its own, which never touches the username's", async () => {
    const carolDevice = deviceCookieOf(
      await attempt('carol', GOOD_PASSWORD).expect(200),
    );
    for (let i = 0; i < THRESHOLD; i++) {
      expectInvalidGrant(await attempt('carol', `typo ${i}`, carolDevice));
    }
    expectOAuthError(
      await attempt('carol', GOOD_PASSWORD, carolDevice),
      429,
      'temporarily_unavailable',
    );

    await attempt('carol', GOOD_PASSWORD).expect(200);
  });

  it('keeps at most 20 devices per account: logins without the cookie push out the least recently used, not a device in use', async () => {
    const erin = await registerUser(testApp, 'erin');
    const devicesOfErin = () =>
      testApp.app
        .get(DataSource)
        .getRepository(LoginDevice)
        .find({ where: { userId: erin.id } });
    const firstDevice = deviceCookieOf(
      await attempt('erin', GOOD_PASSWORD).expect(200),
    );
    let inUse = deviceCookieOf(
      await attempt('erin', GOOD_PASSWORD).expect(200),
    );
    // A script that never sends its cookie back: a new device at every login.
    for (let i = 0; i < MAX_DEVICES_PER_ACCOUNT + 10; i++) {
      await attempt('erin', GOOD_PASSWORD).expect(200);
      if (i % 5 === 0) {
        inUse = deviceCookieOf(
          await attempt('erin', GOOD_PASSWORD, inUse).expect(200),
        );
      }
    }

    expect(await devicesOfErin()).toHaveLength(MAX_DEVICES_PER_ACCOUNT);
    await lockOut('erin');
    await attempt('erin', GOOD_PASSWORD, inUse).expect(200);
    expectOAuthError(
      await attempt('erin', GOOD_PASSWORD, firstDevice),
      429,
      'temporarily_unavailable',
    );
  });

  it('ends the devices of an account when its password changes', async () => {
    const dave = await registerUser(testApp, 'dave');
    const login = await attempt('dave', GOOD_PASSWORD).expect(200);
    const daveDevice = deviceCookieOf(login);
    const newPassword = 'a brand new passphrase for dave';
    await testApp
      .http()
      .put('/users/me/password')
      .set(
        'Authorization',
        `Bearer ${(login.body as { access_token: string }).access_token}`,
      )
      .send({ currentPassword: GOOD_PASSWORD, newPassword })
      .expect(204);
    await lockOut(dave.username);

    expectOAuthError(
      await attempt('dave', newPassword, daveDevice),
      429,
      'temporarily_unavailable',
    );
  });
});

/** A loop of refused logins must neither fill the disk nor bury the other events. */
describe('refused logins in the audit log', () => {
  let testApp: TestApp;
  const tokens = tokenClient(() => testApp);
  const refusalsOf = async (username: string) =>
    (
      await testApp.app
        .get(DataSource)
        .getRepository(AuditEvent)
        .findBy({ type: 'login.failed', username })
    ).filter((event) => event.details?.reason === 'too_many_attempts');

  beforeAll(async () => {
    testApp = await createTestApp({
      LOGIN_BACKOFF_THRESHOLD: String(THRESHOLD),
      LOGIN_BACKOFF_BASE_MS: '600000',
      LOGIN_BACKOFF_MAX_MS: '900000',
      // The longest window, so that the rows counted do not straddle two.
      AUDIT_REPEAT_WINDOW_SECONDS: '604800',
    });
  });
  afterAll(() => testApp.close());

  it('are one too_many_attempts row for 20 refusals of one username in a window, with their count', async () => {
    for (let i = 0; i < THRESHOLD; i++) {
      expectInvalidGrant(await tokens.loginRequest('erin', `wrong ${i}`));
    }
    for (let i = 0; i < 20; i++) {
      expectOAuthError(
        await tokens.loginRequest('erin', `guess ${i}`),
        429,
        'temporarily_unavailable',
      );
    }

    const refusals = await refusalsOf('erin');

    expect(refusals).toHaveLength(1);
    // Brought up to date at 1, 2, 4, 8, 16…: within a factor of two of the 20.
    expect(refusals[0].details?.attempts).toBe(16);
  });
});

describe('the device cookie behind https', () => {
  let testApp: TestApp;
  const tokens = tokenClient(() => testApp);

  beforeAll(async () => {
    testApp = await createTestApp({
      PUBLIC_URL: 'https://auth.test',
      LOGIN_BACKOFF_THRESHOLD: String(THRESHOLD),
      LOGIN_BACKOFF_BASE_MS: '600000',
      LOGIN_BACKOFF_MAX_MS: '900000',
    });
    await registerUser(testApp, 'alice');
  });
  afterAll(() => testApp.close());

  it('is __Host-login-device, Secure, for the whole origin, and still lets its owner past a held username', async () => {
    const login = await tokens.loginRequest('alice', GOOD_PASSWORD).expect(200);
    const cookie = ([] as string[])
      .concat(login.headers['set-cookie'] ?? [])
      .find((line) => line.startsWith('__Host-login-device='));
    expect(cookie).toContain('; Secure');
    expect(cookie).toContain('; Path=/;');
    expect(cookie).not.toContain('Domain=');
    for (let i = 0; i <= THRESHOLD; i++) {
      await tokens.loginRequest('alice', `wrong ${i}`);
    }
    expectOAuthError(
      await tokens.loginRequest('alice', GOOD_PASSWORD),
      429,
      'temporarily_unavailable',
    );

    await tokens
      .loginRequest('alice', GOOD_PASSWORD)
      .set('Cookie', cookie!.split(';', 1)[0])
      .expect(200);
  });
});

/**
 * A stolen `profile` token, and guesses at the current password that the
 * routes needing it would confirm: without the back-off they would be an
 * oracle that no login limit sees.
 */
describe('guessing the current password with a stolen token', () => {
  let testApp: TestApp;
  const tokens = tokenClient(() => testApp);
  const withToken = (token: string) => ({
    changePassword: (currentPassword: string) =>
      testApp
        .http()
        .put('/users/me/password')
        .auth(token, { type: 'bearer' })
        .send({ currentPassword, newPassword: 'the thief chose this one' }),
    rename: (currentPassword: string) =>
      testApp
        .http()
        .patch('/users/me')
        .auth(token, { type: 'bearer' })
        .send({ username: 'stolen', currentPassword }),
    deleteAccount: (currentPassword: string) =>
      testApp
        .http()
        .delete('/users/me')
        .auth(token, { type: 'bearer' })
        .send({ currentPassword }),
  });

  beforeAll(async () => {
    testApp = await createTestApp({
      ...ADMIN_ENV,
      LOGIN_BACKOFF_THRESHOLD: String(THRESHOLD),
      LOGIN_BACKOFF_BASE_MS: '1000',
      LOGIN_BACKOFF_MAX_MS: '2000',
    });
  });
  afterAll(() => testApp.close());

  it('PUT /users/me/password: each guess counts against the login back-off; after the threshold 429 with Retry-After, even for the right password', async () => {
    await registerUser(testApp, 'carol');
    const stolen = withToken(await passwordGrant(testApp, 'carol'));
    for (let i = 0; i < THRESHOLD; i++) {
      expectProblem(
        await stolen.changePassword(`wrong guess ${i}`),
        400,
        '/users/me/password',
      );
    }
    const before = await databaseSnapshot(testApp);

    const refused = await stolen.changePassword(GOOD_PASSWORD);

    expectProblem(refused, 429, '/users/me/password');
    expect(retryAfterOf(refused)).toBe(1);
    // The same back-off as the logins': the account's own login waits too.
    expectOAuthError(
      await tokens.loginRequest('carol', GOOD_PASSWORD),
      429,
      'temporarily_unavailable',
    );
    expect(await databaseSnapshot(testApp)).toEqual(before);
  });

  it('PATCH /users/me and DELETE /users/me count on the same back-off: guesses through a rename hold back a deletion', async () => {
    const dave = await registerUser(testApp, 'dave');
    const stolen = withToken(await passwordGrant(testApp, 'dave'));
    for (let i = 0; i < THRESHOLD; i++) {
      expectProblem(await stolen.rename(`wrong guess ${i}`), 400, '/users/me');
    }

    const refused = await stolen.deleteAccount(GOOD_PASSWORD);

    expectProblem(refused, 429, '/users/me');
    expect(retryAfterOf(refused)).toBe(1);
    expectProblem(await stolen.rename(GOOD_PASSWORD), 429, '/users/me');
    const adminToken = await passwordGrant(
      testApp,
      ADMIN_ENV.ADMIN_USERNAME,
      ADMIN_ENV.ADMIN_PASSWORD,
    );
    const stored = await testApp
      .http()
      .get(`/users/${dave.id}`)
      .auth(adminToken, { type: 'bearer' })
      .expect(200);
    expect(stored.body).toMatchObject({ username: 'dave', isActive: true });
  });
});
