import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Response } from 'supertest';
import { expectOAuthError, expectProblem } from './utils/expectations.js';
import {
  GOOD_PASSWORD,
  passwordGrant,
  registerUser,
  tokenClient,
} from './utils/flows.js';
import { useMovableClock } from './utils/clock.js';
import { databaseSnapshot } from './utils/security.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp } from './utils/test-app.js';

/** RFC 6585 §4 / RFC 9110 §10.2.3: a 429 says when to come back, in whole seconds. */
function expectRetryAfter(response: Response, atMostSeconds: number): void {
  const retryAfter = Number(response.headers['retry-after']);
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(atMostSeconds);
}

describe('per-IP rate limits', () => {
  describe('POST /auth/token', () => {
    let testApp: TestApp;
    const tokens = tokenClient(() => testApp);

    beforeAll(async () => {
      testApp = await createTestApp({
        THROTTLE_TOKEN_LIMIT: '3',
        THROTTLE_TOKEN_TTL: '60',
      });
      await registerUser(testApp);
    });
    afterAll(() => testApp.close());

    it('answers 429 temporarily_unavailable with Retry-After past the limit, even to the right password', async () => {
      for (let i = 0; i < 3; i++) {
        await tokens.loginRequest('alice', 'a wrong password').expect(400);
      }
      const before = await databaseSnapshot(testApp);

      const response = await tokens.loginRequest('alice', GOOD_PASSWORD);

      expectOAuthError(response, 429, 'temporarily_unavailable');
      expectRetryAfter(response, 60);
      expect(await databaseSnapshot(testApp)).toEqual(before);
    });

    it('counts every grant type against the same limit', async () => {
      const response = await tokens.refresh('any refresh token');

      expectOAuthError(response, 429, 'temporarily_unavailable');
    });

    it('does not let X-Forwarded-For pick a new address when TRUST_PROXY is not set', async () => {
      const response = await tokens
        .loginRequest('alice', GOOD_PASSWORD)
        .set('X-Forwarded-For', '203.0.113.77');

      expectOAuthError(response, 429, 'temporarily_unavailable');
    });

    it('leaves other routes alone', async () => {
      await testApp.http().get('/.well-known/jwks.json').expect(200);
    });
  });

  describe('behind a trusted proxy (TRUST_PROXY=loopback)', () => {
    let testApp: TestApp;
    const tokens = tokenClient(() => testApp);
    /** The one-second windows end by moving the clock, not by waiting them out. */
    const clock = useMovableClock();
    const from = (address: string) =>
      tokens
        .loginRequest('alice', GOOD_PASSWORD)
        .set('X-Forwarded-For', address);

    beforeAll(async () => {
      testApp = await createTestApp({
        TRUST_PROXY: 'loopback',
        THROTTLE_TOKEN_LIMIT: '2',
        THROTTLE_TOKEN_TTL: '1',
      });
      await registerUser(testApp);
    });
    afterAll(() => testApp.close());

    it('counts each client address from X-Forwarded-For on its own', async () => {
      await from('198.51.100.1').expect(200);
      await from('198.51.100.1').expect(200);
      expectOAuthError(
        await from('198.51.100.1'),
        429,
        'temporarily_unavailable',
      );

      await from('198.51.100.2').expect(200);
    });

    it('takes the address the trusted proxy saw, not one the client wrote before it', async () => {
      clock.advance(1100);
      await from('198.51.100.3').expect(200);
      await from('10.9.9.9, 198.51.100.3').expect(200);

      expectOAuthError(
        await from('10.8.8.8, 198.51.100.3'),
        429,
        'temporarily_unavailable',
      );
    });

    it('counts an IPv6 /64 as one client, as one holder usually has all of it', async () => {
      await from('2001:db8:5:6::1').expect(200);
      await from('2001:db8:5:6::2').expect(200);

      expectOAuthError(
        await from('2001:db8:5:6:ffff::3'),
        429,
        'temporarily_unavailable',
      );
      await from('2001:db8:5:7::1').expect(200);
    });

    it('lets the address in again when its window ends', async () => {
      clock.advance(1100);

      await from('198.51.100.1').expect(200);
    });
  });

  describe('POST /users', () => {
    let testApp: TestApp;

    beforeAll(async () => {
      testApp = await createTestApp({ THROTTLE_REGISTRATION_LIMIT: '2' });
    });
    afterAll(() => testApp.close());

    it('answers 429 problem details with Retry-After past the limit, and creates nobody', async () => {
      await registerUser(testApp, 'alice');
      await registerUser(testApp, 'bob');
      const before = await databaseSnapshot(testApp);

      const response = await testApp
        .http()
        .post('/users')
        .send({ username: 'carol', password: GOOD_PASSWORD });

      expectProblem(response, 429, '/users');
      expectRetryAfter(response, 3600);
      expect(await databaseSnapshot(testApp)).toEqual(before);
    });
  });

  describe('PUT /users/me/password', () => {
    let testApp: TestApp;

    beforeAll(async () => {
      testApp = await createTestApp({ THROTTLE_PASSWORD_CHANGE_LIMIT: '2' });
      await registerUser(testApp);
    });
    afterAll(() => testApp.close());

    it('answers 429 problem details past the limit, and changes nothing', async () => {
      const accessToken = await passwordGrant(testApp);
      const change = () =>
        testApp
          .http()
          .put('/users/me/password')
          .set('Authorization', `Bearer ${accessToken}`)
          .send({
            currentPassword: 'not the current password',
            newPassword: 'another long passphrase entirely',
          });
      await change().expect(400);
      await change().expect(400);
      const before = await databaseSnapshot(testApp);

      const response = await change();

      expectProblem(response, 429, '/users/me/password');
      expectRetryAfter(response, 900);
      expect(await databaseSnapshot(testApp)).toEqual(before);
    });
  });
});
