import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Response } from 'supertest';
import {
  expectOAuthError,
  expectInvalidGrant,
  expectProblem,
} from '../utils/expectations.js';
import {
  ADMIN_ENV,
  GOOD_PASSWORD,
  passwordGrant,
  registerUser,
  tokenClient,
} from '../utils/flows.js';
import { databaseSnapshot } from '../utils/security.js';
import type { TestApp } from '../utils/test-app.js';
import { createTestApp } from '../utils/test-app.js';

const THRESHOLD = 3;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
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
    await sleep(1050);
    expectInvalidGrant(await guess('alice', 'wrong after the wait'));

    const refused = await guess('alice', GOOD_PASSWORD);

    expectOAuthError(refused, 429, 'temporarily_unavailable');
    expect(retryAfterOf(refused)).toBe(2);
    await sleep(2050);
    expectInvalidGrant(await guess('alice', 'wrong after the longer wait'));
    expect(retryAfterOf(await guess('alice', GOOD_PASSWORD))).toBe(2);
  });

  it('is a delay, not a lock: the right password after the wait logs in, and the count starts afresh', async () => {
    await sleep(2050);
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

  it('records each refused attempt in the audit log, and counts it as too_many_attempts', async () => {
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
