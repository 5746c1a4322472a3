import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request as httpRequest } from 'node:http';
import {
  expectInvalidGrant,
  expectOAuthError,
  expectProblem,
} from '../utils/expectations.js';
import {
  ADMIN,
  ADMIN_ENV,
  GOOD_PASSWORD,
  passwordGrant,
  tokenClient,
} from '../utils/flows.js';
import { databaseSnapshot } from '../utils/security.js';
import type { TestApp } from '../utils/test-app.js';
import { createTestApp, listenOnLoopback } from '../utils/test-app.js';

const utf8Bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/**
 * Passwords at bcrypt's 72-byte edge and in every Unicode form, usernames
 * that try to smuggle a line break into a header, and requests too big in
 * every dimension: each gets its exact answer and nothing stored changes.
 */
describe('oversized and unusual input', () => {
  let testApp: TestApp;
  let adminToken: string;
  const tokens = tokenClient(() => testApp);

  beforeAll(async () => {
    testApp = await createTestApp(ADMIN_ENV);
    adminToken = await passwordGrant(testApp, ADMIN.username, ADMIN.password);
  });
  afterAll(() => testApp.close());

  const register = (username: string, password: string) =>
    testApp.http().post('/users').send({ username, password });

  describe('passwords (bcrypt reads 72 bytes; NFKC before hashing)', () => {
    it('refuses 73 bytes of UTF-8 in 20 code points, saying so, and stores nothing', async () => {
      // 17 four-byte emoji, two two-byte letters and one ASCII letter.
      const seventyThree = '🐎'.repeat(17) + 'ééa';
      expect([...seventyThree].length).toBe(20);
      expect(utf8Bytes(seventyThree)).toBe(73);
      const before = await databaseSnapshot(testApp);

      for (const tooLong of [seventyThree, seventyThree + '🐎']) {
        const response = await register('tess', tooLong);
        expectProblem(response, 400, '/users');
        expect(response.body.errors).toEqual([
          { field: 'password', message: expect.stringContaining('72 bytes') },
        ]);
      }
      expect(await databaseSnapshot(testApp)).toEqual(before);
    });

    it('accepts exactly 72 bytes, and only the whole password logs in', async () => {
      const password = 'correct horse battery staple, '.repeat(3).slice(0, 72);
      expect(utf8Bytes(password)).toBe(72);
      await register('seventytwo', password).expect(201);

      await tokens.login('seventytwo', password);
      expectInvalidGrant(
        await tokens.loginRequest('seventytwo', password + 'x'),
      );
      expectInvalidGrant(
        await tokens.loginRequest('seventytwo', password.slice(0, 71)),
      );
    });

    it('NFKC: a password typed in another form of the same characters logs in', async () => {
      // The ligature "ﬁ" and full-width letters are NFKC-equal to "fi" and ASCII.
      await register('nfkc', 'ﬁne ｃｏｒｒｅｃｔ horse battery').expect(201);
      await tokens.login('nfkc', 'fine correct horse battery');
      // Combining acute accent vs the precomposed letter.
      await register('accent', 'cafe\u0301 au lait, long enough').expect(201);
      await tokens.login('accent', 'caf\u00e9 au lait, long enough');
    });

    it('emoji, combining marks and a NUL are characters like any other: the whole password is needed', async () => {
      const emoji = '🐎🔋📎 correct horse e\u0301\u0301 staple';
      await register('emoji', emoji).expect(201);
      await tokens.login('emoji', emoji);
      expectInvalidGrant(
        await tokens.loginRequest('emoji', '🐎🔋📎 correct horse'),
      );

      const withNul = 'correct horse\u0000battery staple';
      await register('nul', withNul).expect(201);
      await tokens.login('nul', withNul);
      // A C string would end at the NUL: bcrypt must not be reading one.
      expectInvalidGrant(await tokens.loginRequest('nul', 'correct horse'));
    });
  });

  describe('line breaks in usernames (header and log injection)', () => {
    const SMUGGLERS = [
      'eve\r\nSet-Cookie: session=stolen',
      'eve\nX-Injected: 1',
      'eve\u2028admin',
      'eve\u2029admin',
      'eve\u0085admin',
      'eve\tadmin',
    ];

    it.each(SMUGGLERS)(
      'POST /users with %j: 400 naming username, no user',
      async (username) => {
        const before = await databaseSnapshot(testApp);
        const response = await register(username, GOOD_PASSWORD);
        expectProblem(response, 400, '/users');
        expect(response.body.errors).toEqual([
          { field: 'username', message: expect.any(String) },
        ]);
        expect(response.headers['set-cookie']).toBeUndefined();
        expect(response.headers['x-injected']).toBeUndefined();
        expect(await databaseSnapshot(testApp)).toEqual(before);
      },
    );

    it.each(SMUGGLERS)(
      'POST /auth/token with %j: 400 invalid_grant',
      async (username) => {
        const response = await tokens.loginRequest(username, GOOD_PASSWORD);
        expectInvalidGrant(response);
        expect(response.headers['set-cookie']).toBeUndefined();
      },
    );

    it('the Location of a new user is its id alone', async () => {
      const response = await register('ｌｏｃａｔｉｏｎ', GOOD_PASSWORD).expect(
        201,
      );
      expect(response.headers.location).toMatch(
        /^\/users\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      );
      expect(response.body.username).toBe('location');
    });
  });

  describe('sizes', () => {
    it('a JSON body over 64 KiB: 413 problem details, no user', async () => {
      const before = await databaseSnapshot(testApp);
      const response = await register('big', 'x'.repeat(65 * 1024));
      expectProblem(response, 413, '/users');
      expect(await databaseSnapshot(testApp)).toEqual(before);
    });

    it('a form body over 64 KiB at the token endpoint: 413 invalid_request', async () => {
      expectOAuthError(
        await tokens.loginRequest('alice', 'x'.repeat(65 * 1024)),
        413,
        'invalid_request',
      );
    });

    it('headers over the HTTP parser’s limit: 431 problem details', async () => {
      const base = await listenOnLoopback(testApp);
      const { status, type, body } = await new Promise<{
        status?: number;
        type?: string;
        body: string;
      }>((resolve, reject) => {
        const request = httpRequest(`${base}/users/me`, {
          headers: { 'X-Padding': 'x'.repeat(20 * 1024) },
        });
        request.on('response', (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () =>
            resolve({
              status: response.statusCode,
              type: response.headers['content-type'],
              body: text,
            }),
          );
        });
        request.on('error', reject);
        request.end();
      });
      expect(status).toBe(431);
      expect(type).toBe('application/problem+json');
      expect(JSON.parse(body)).toEqual({
        type: 'about:blank',
        title: 'Request Header Fields Too Large',
        status: 431,
        detail: 'The request headers are too large.',
      });
    });

    it('a 10 000-character query value: 400 naming the field', async () => {
      const response = await testApp
        .http()
        .get('/users')
        .query({ username: 'x'.repeat(10_000) })
        .set('Authorization', `Bearer ${adminToken}`);
      expectProblem(response, 400, '/users');
      expect(response.body.errors).toEqual([
        { field: 'username', message: expect.any(String) },
      ]);
    });

    it('JSON nested 5 000 deep: 400, nothing stored', async () => {
      const before = await databaseSnapshot(testApp);
      const nested = '{"a":'.repeat(5_000) + '1' + '}'.repeat(5_000);
      const response = await testApp
        .http()
        .post('/users')
        .set('Content-Type', 'application/json')
        .send(
          `{"username":"deep","password":"${GOOD_PASSWORD}","x":${nested}}`,
        );
      expectProblem(response, 400, '/users');
      expect(await databaseSnapshot(testApp)).toEqual(before);
    });

    it('a JSON body with 10 000 keys is over 64 KiB: 413', async () => {
      const body: Record<string, number> = {};
      for (let index = 0; index < 10_000; index++) body[index.toString(36)] = 0;
      expectProblem(
        await testApp.http().post('/users').send(body),
        413,
        '/users',
      );
    });

    it('a JSON body with 5 000 unknown keys: 400 with the first 20 errors, nothing stored', async () => {
      const before = await databaseSnapshot(testApp);
      const body: Record<string, unknown> = {
        username: 'manykeys',
        password: GOOD_PASSWORD,
      };
      for (let index = 0; index < 5_000; index++) body[index.toString(36)] = 0;
      const response = await testApp.http().post('/users').send(body);
      expectProblem(response, 400, '/users');
      expect(response.body.errors).toHaveLength(20);
      expect(response.text.length).toBeLessThan(5_000);
      expect(await databaseSnapshot(testApp)).toEqual(before);
    });
  });
});
