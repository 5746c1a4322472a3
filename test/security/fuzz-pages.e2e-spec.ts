import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { Response } from 'supertest';
import { csrfOf, signIn, TestBrowser } from '../utils/browser-flow.js';
import {
  ADMIN,
  ADMIN_ENV,
  createClientAs,
  passwordGrant,
  registerUser,
} from '../utils/flows.js';
import type { CreatedClient } from '../utils/flows.js';
import { expectNoLeak } from '../utils/security.js';
import type { TestApp } from '../utils/test-app.js';
import { createTestApp, TEST_PUBLIC_URL } from '../utils/test-app.js';

/**
 * The pages a browser reaches (the authorization endpoint, the login,
 * consent and device pages) are not operations of the OpenAPI document,
 * so the document's fuzz run does not reach them: this one does, signed
 * in and not. Whatever comes in, the answer is a page or a redirect, never
 * a 5xx, a leak, or a redirect to a place nobody registered.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const SEED =
  process.env.FUZZ_SEED === undefined
    ? undefined
    : Number(process.env.FUZZ_SEED);

const NASTY = [
  "' OR 1=1 --",
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  'https://evil.example/',
  '//evil.example',
  '/\\evil.example',
  'javascript:alert(1)',
  '%00',
  '\u0000',
  '../../etc/passwd',
  'S256',
  'plain',
  'code',
  'a'.repeat(5000),
];

const value = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);

const PARAMETERS = [
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'code_challenge',
  'code_challenge_method',
  'resource',
  'return',
  'user_code',
  'username',
  'password',
  'decision',
  'csrf',
];

const fields = fc.dictionary(fc.constantFrom(...PARAMETERS), value, {
  maxKeys: 8,
});

describe('fuzzing the browser pages', () => {
  let testApp: TestApp;
  let client: CreatedClient;
  let signedIn: TestBrowser;
  let csrf: string;
  const allowedRedirects = new Set<string>();

  beforeAll(async () => {
    testApp = await createTestApp(ADMIN_ENV);
    await registerUser(testApp, 'alice');
    const adminToken = await passwordGrant(
      testApp,
      ADMIN.username,
      ADMIN.password,
    );
    client = await createClientAs(testApp, adminToken, {
      name: 'Fuzzed app',
      clientType: 'public',
      tokenEndpointAuthMethod: 'none',
      allowedScopes: ['profile'],
      allowedGrantTypes: ['authorization_code'],
      redirectUris: ['https://app.example.com/cb'],
    });
    allowedRedirects.add('https://app.example.com');
    signedIn = new TestBrowser(testApp);
    await signIn(signedIn, '/login');
    csrf = csrfOf(await signedIn.get('/device'));
  }, 30_000);
  afterAll(() => testApp.close());

  function expectPageOrRedirect(response: Response): void {
    expect(response.status).toBeLessThan(500);
    expectNoLeak(response);
    if (response.status >= 300 && response.status < 400) {
      const location = new URL(response.headers.location, TEST_PUBLIC_URL);
      // This service's own pages, or the registered client's redirect URI: nowhere else.
      expect([TEST_PUBLIC_URL, ...allowedRedirects]).toContain(location.origin);
      return;
    }
    if (response.status >= 400)
      expect(response.headers['content-type']).toMatch(/^text\/html/);
  }

  const routes: [string, 'get' | 'post', string][] = [
    ['GET /auth/authorize', 'get', '/auth/authorize'],
    ['POST /auth/authorize', 'post', '/auth/authorize'],
    ['GET /login', 'get', '/login'],
    ['POST /login', 'post', '/login'],
    ['POST /logout', 'post', '/logout'],
    ['GET /device', 'get', '/device'],
    ['POST /device', 'post', '/device'],
    ['POST /device/decision', 'post', '/device/decision'],
  ];

  it.each(routes)(
    '%s: a page or a redirect home or to the registered client, never a 5xx',
    async (_, method, path) => {
      await fc.assert(
        fc.asyncProperty(
          fields,
          fc.boolean(),
          fc.boolean(),
          async (form, asSignedIn, withClient) => {
            const sent = {
              ...form,
              ...(withClient ? { client_id: client.id } : {}),
              ...(asSignedIn && form.csrf === undefined ? { csrf } : {}),
            };
            const browser = asSignedIn ? signedIn : new TestBrowser(testApp);
            const response =
              method === 'get'
                ? await browser.get(
                    `${path}?${new URLSearchParams(sent).toString()}`,
                  )
                : await browser.post(path, sent);
            expectPageOrRedirect(response);
          },
        ),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
    },
    60_000,
  );
});
