import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DeviceAuthorizationResponse } from '../src/oauth/device/device-flow.service.js';
import { useMovableClock } from './utils/clock.js';
import { csrfOf, signIn, TestBrowser } from './utils/browser-flow.js';
import { expectOAuthError } from './utils/expectations.js';
import {
  ADMIN,
  ADMIN_ENV,
  createClientAs,
  passwordGrant,
  registerUser,
} from './utils/flows.js';
import type { CreatedClient, TokenBody } from './utils/flows.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp } from './utils/test-app.js';

const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';

/** RFC 8628 §3.3: the user's side of the device flow, in a browser signed in on the hosted login page. */
describe('the /device page', () => {
  let testApp: TestApp;
  let cli: CreatedClient;
  const clock = useMovableClock();

  beforeAll(async () => {
    testApp = await createTestApp(ADMIN_ENV);
    const adminToken = await passwordGrant(
      testApp,
      ADMIN.username,
      ADMIN.password,
    );
    await registerUser(testApp, 'alice');
    cli = await createClientAs(testApp, adminToken, {
      name: 'Acme CLI',
      clientType: 'public',
      tokenEndpointAuthMethod: 'none',
      allowedScopes: ['profile', 'users:read'],
      allowedGrantTypes: [DEVICE_CODE, 'refresh_token'],
    });
  });
  afterAll(() => testApp.close());

  const start = async (form: Record<string, string> = {}) =>
    (
      await testApp
        .http()
        .post('/auth/device_authorization')
        .type('form')
        .send({ client_id: cli.id, ...form })
        .expect(200)
    ).body as DeviceAuthorizationResponse;

  const poll = (deviceCode: string) =>
    testApp.http().post('/auth/token').type('form').send({
      grant_type: DEVICE_CODE,
      device_code: deviceCode,
      client_id: cli.id,
    });

  /** A browser signed in as alice, on the page verification_uri_complete names. */
  const signedInAt = async (userCode: string) => {
    const browser = new TestBrowser(testApp);
    const path = `/device?user_code=${userCode}`;
    const signedIn = await signIn(browser, path);
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.location).toBe(path);
    const page = await browser.get(path);
    expect(page.status).toBe(200);
    return { browser, page };
  };

  it('sends a browser that is not signed in to the login page, and back with its code', async () => {
    const response = await testApp.http().get('/device?user_code=BCDF-GHJK');
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe(
      `/login?return=${encodeURIComponent('/device?user_code=BCDF-GHJK')}`,
    );
  });

  it('connects the tool: the code filled in, what it asks for in words, then tokens at its next poll', async () => {
    const authorization = await start({ scope: 'profile' });
    const { browser, page } = await signedInAt(authorization.user_code);
    expect(page.headers['content-security-policy']).toContain(
      "default-src 'none'",
    );
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.text).toContain('<label for="user_code">Code</label>');
    expect(page.text).toContain(`value="${authorization.user_code}"`);
    expect(page.text).not.toContain('<script');

    const confirm = await browser.post('/device', {
      csrf: csrfOf(page),
      user_code: authorization.user_code,
    });
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('Allow Acme CLI?');
    expect(confirm.text).toContain(
      'Read and change your own profile, password and sessions.',
    );
    expect(confirm.text).toContain(authorization.user_code);

    const done = await browser.post('/device/decision', {
      csrf: csrfOf(confirm),
      user_code: authorization.user_code,
      decision: 'allow',
    });
    expect(done.status).toBe(200);
    expect(done.text).toContain('Device connected');

    const granted = await poll(authorization.device_code).expect(200);
    expect((granted.body as TokenBody).scope).toBe('profile');
    await testApp
      .http()
      .get('/users/me')
      .set(
        'Authorization',
        `Bearer ${(granted.body as TokenBody).access_token}`,
      )
      .expect(200);
  });

  it('denies: the tool hears access_denied', async () => {
    const authorization = await start();
    const { browser, page } = await signedInAt(authorization.user_code);
    const confirm = await browser.post('/device', {
      csrf: csrfOf(page),
      user_code: authorization.user_code,
    });
    const done = await browser.post('/device/decision', {
      csrf: csrfOf(confirm),
      user_code: authorization.user_code,
      decision: 'deny',
    });
    expect(done.text).toContain('Request denied');
    expectOAuthError(
      await poll(authorization.device_code),
      400,
      'access_denied',
    );
  });

  it('says a code is wrong or expired, tied to the field, and keeps what was typed', async () => {
    const authorization = await start();
    const { browser, page } = await signedInAt(authorization.user_code);
    const wrong = await browser.post('/device', {
      csrf: csrfOf(page),
      user_code: 'ZZZZ-ZZZZ',
    });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('role="alert"');
    expect(wrong.text).toContain('aria-describedby="user-code-error"');
    expect(wrong.text).toContain('value="ZZZZ-ZZZZ"');

    clock.advance(601_000);
    const expired = await browser.post('/device', {
      csrf: csrfOf(page),
      user_code: authorization.user_code,
    });
    expect(expired.status).toBe(400);
  });

  it('refuses a form without its CSRF token (403), deciding nothing', async () => {
    const authorization = await start();
    const { browser } = await signedInAt(authorization.user_code);
    const forged = await browser.post('/device/decision', {
      user_code: authorization.user_code,
      decision: 'allow',
    });
    expect(forged.status).toBe(403);
    expectOAuthError(
      await poll(authorization.device_code),
      400,
      'authorization_pending',
    );
  });

  it('will not let a user grant what their roles do not give', async () => {
    const authorization = await start({ scope: 'users:read' });
    const { browser, page } = await signedInAt(authorization.user_code);
    const refused = await browser.post('/device', {
      csrf: csrfOf(page),
      user_code: authorization.user_code,
    });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('asks for too much');
  });
});

/** A person reads what went wrong: the pages' errors are pages, rate limits included. */
describe('the sign-in pages over their rate limit', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await createTestApp({ THROTTLE_TOKEN_LIMIT: '2' });
  });
  afterAll(() => testApp.close());

  it('answers 429 as a page that says when to try again, not a JSON body', async () => {
    const browser = new TestBrowser(testApp);
    const page = await browser.get('/login');
    let response = page;
    for (let attempt = 0; attempt < 3; attempt++) {
      response = await browser.post('/login', {
        csrf: csrfOf(page),
        return: '/login',
        username: 'nobody',
        password: 'not a password anyone has',
      });
    }
    expect(response.status).toBe(429);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.headers['retry-after']).toMatch(/^\d+$/);
    expect(response.headers['x-frame-options']).toBe('DENY');
    expect(response.text).toContain('role="alert"');
    expect(response.text).toMatch(/Retry after \d+ seconds/);
  });
});
