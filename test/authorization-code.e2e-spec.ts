import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import {
  authorizePath,
  csrfOf,
  hiddenFieldsOf,
  pkcePair,
  redirectParams,
  signIn,
  TestBrowser,
} from './utils/browser-flow.js';
import { useMovableClock } from './utils/clock.js';
import {
  expectOAuthError,
  expectOAuthErrorBody,
} from './utils/expectations.js';
import {
  ADMIN,
  ADMIN_ENV,
  createClientAs,
  GOOD_PASSWORD,
  passwordGrant,
  registerUser,
} from './utils/flows.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp, TEST_PUBLIC_URL } from './utils/test-app.js';

const NATIVE_REDIRECT = 'http://127.0.0.1/callback';
const WEB_REDIRECT = 'https://app.example.com/callback';

interface Registered {
  id: string;
  clientSecret?: string;
}

/** The apps of these tests: a native public one, a third-party web app, a first-party web app. */
async function registerApps(testApp: TestApp) {
  const adminToken = await passwordGrant(
    testApp,
    ADMIN.username,
    ADMIN.password,
  );
  const register = (body: Record<string, unknown>) =>
    createClientAs(testApp, adminToken, {
      allowedScopes: ['profile', 'users:read'],
      allowedGrantTypes: ['authorization_code', 'refresh_token'],
      ...body,
    }) as Promise<Registered>;
  return {
    adminToken,
    native: await register({
      name: 'Native <App>',
      clientType: 'public',
      firstParty: true,
      redirectUris: [NATIVE_REDIRECT],
    }),
    thirdParty: await register({
      name: 'Partner App',
      clientType: 'public',
      redirectUris: [WEB_REDIRECT, 'https://app.example.com/other'],
    }),
    web: await register({
      name: 'Company Web',
      firstParty: true,
      redirectUris: [WEB_REDIRECT],
    }),
  };
}

const isHtmlPage = (response: Response, status: number) => {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(response.headers.location).toBeUndefined();
};

describe('the authorization code flow (RFC 6749 §4.1, RFC 7636, RFC 9700 §2.1)', () => {
  let testApp: TestApp;
  let apps: Awaited<ReturnType<typeof registerApps>>;

  beforeAll(async () => {
    testApp = await createTestApp(ADMIN_ENV);
    await registerUser(testApp, 'alice');
    // Each consent test signs in as a user of its own: consents outlive a test.
    await registerUser(testApp, 'erin');
    await registerUser(testApp, 'fred');
    apps = await registerApps(testApp);
  });
  afterAll(() => testApp.close());

  const request = (overrides: Record<string, string | undefined> = {}) => {
    const { challenge } = pkcePair();
    return authorizePath({
      response_type: 'code',
      client_id: apps.native.id,
      redirect_uri: 'http://127.0.0.1:53817/callback',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'st-1',
      ...overrides,
    });
  };

  /** Signs in (if needed) and follows the flow to the redirect carrying the code. */
  async function codeFor(
    browser: TestBrowser,
    client: Registered,
    redirectUri: string,
    extra: Record<string, string> = {},
  ) {
    const { verifier, challenge } = pkcePair();
    const path = authorizePath({
      response_type: 'code',
      client_id: client.id,
      redirect_uri: redirectUri,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'xyz',
      ...extra,
    });
    let response = await browser.get(path);
    if (response.status === 303) {
      expect(response.headers.location).toBe(
        `/login?return=${encodeURIComponent(path)}`,
      );
      expect((await signIn(browser, path)).headers.location).toBe(path);
      response = await browser.get(path);
    }
    expect(response.status).toBe(302);
    const params = redirectParams(response);
    return {
      code: params.code,
      params,
      verifier,
      location: response.headers.location,
    };
  }

  const redeem = (form: Record<string, string>, auth?: Registered) => {
    const call = testApp.http().post('/auth/token').type('form');
    if (auth?.clientSecret !== undefined) call.auth(auth.id, auth.clientSecret);
    return call.send({ grant_type: 'authorization_code', ...form });
  };

  describe('GET /auth/authorize: errors before the client and its redirect URI are known are a page, never a redirect', () => {
    it.each([
      ['no client_id', { client_id: undefined }],
      ['an unknown client_id', { client_id: 'svc_unknown' }],
      [
        'a redirect URI differing by one character',
        { redirect_uri: 'http://127.0.0.1:53817/callbacK' },
      ],
      [
        'a redirect URI on another host',
        { redirect_uri: 'https://evil.example/callback' },
      ],
      [
        'a loopback redirect on another path',
        { redirect_uri: 'http://127.0.0.1:53817/callback/x' },
      ],
      [
        'localhost for the loopback address',
        { redirect_uri: 'http://localhost:53817/callback' },
      ],
    ])('%s: 400 HTML, no Location', async (_case, overrides) => {
      const response = await testApp.http().get(request(overrides));
      isHtmlPage(response, 400);
      expect(response.text).toContain(
        '<h1>This sign-in link is not valid</h1>',
      );
    });

    it('a repeated client_id or redirect_uri: a page', async () => {
      const response = await testApp
        .http()
        .get(`${request()}&client_id=${apps.web.id}`);
      isHtmlPage(response, 400);
    });

    it('no redirect_uri while several are registered: a page; with one registered, it is that one', async () => {
      isHtmlPage(
        await testApp
          .http()
          .get(
            request({ client_id: apps.thirdParty.id, redirect_uri: undefined }),
          ),
        400,
      );
      const single = await testApp
        .http()
        .get(request({ redirect_uri: undefined }));
      expect(single.status).toBe(303);
      expect(single.headers.location).toMatch(/^\/login\?return=/);
    });

    it('RFC 8252 §7.3: a loopback redirect may name any port', async () => {
      const response = await testApp
        .http()
        .get(request({ redirect_uri: 'http://127.0.0.1:1/callback' }));
      expect(response.status).toBe(303);
    });
  });

  describe('GET /auth/authorize: later errors go to the redirect URI with state and iss (§4.1.2.1, RFC 9207)', () => {
    it.each([
      ['no response_type', { response_type: undefined }, 'invalid_request'],
      [
        'response_type=token',
        { response_type: 'token' },
        'unsupported_response_type',
      ],
      ['no PKCE challenge', { code_challenge: undefined }, 'invalid_request'],
      [
        'the plain PKCE method',
        { code_challenge_method: 'plain' },
        'invalid_request',
      ],
      [
        'no PKCE method',
        { code_challenge_method: undefined },
        'invalid_request',
      ],
      [
        'a challenge that is no S256 hash',
        { code_challenge: 'short' },
        'invalid_request',
      ],
      [
        'an unknown scope',
        { scope: 'profile launch:missiles' },
        'invalid_scope',
      ],
      [
        'a scope the client was not registered for',
        { scope: 'users:write' },
        'invalid_scope',
      ],
      [
        'an unknown resource',
        { resource: 'https://unknown.example' },
        'invalid_target',
      ],
      ['a repeated state', { state: 'a', extra: 'x' }, 'invalid_request'],
    ])('%s: %s', async (_case, overrides, error) => {
      const { extra, ...rest } = overrides as Record<
        string,
        string | undefined
      >;
      const path = request(rest) + (extra === undefined ? '' : '&state=b');
      const response = await testApp.http().get(path);
      expect(response.status).toBe(302);
      const location = new URL(response.headers.location);
      expect(`${location.origin}${location.pathname}`).toBe(
        'http://127.0.0.1:53817/callback',
      );
      expect(redirectParams(response)).toEqual({
        error,
        error_description: expect.any(String),
        ...(extra === undefined ? { state: rest.state ?? 'st-1' } : {}),
        iss: TEST_PUBLIC_URL,
      });
    });

    it('an error without state carries none', async () => {
      const response = await testApp
        .http()
        .get(request({ state: undefined, response_type: 'token' }));
      expect(Object.keys(redirectParams(response)).sort()).toEqual([
        'error',
        'error_description',
        'iss',
      ]);
    });
  });

  describe('signing in on the way', () => {
    it('a browser without a session is sent to the login page with the request as its return', async () => {
      const path = request();
      const response = await testApp.http().get(path);
      expect(response.status).toBe(303);
      expect(response.headers.location).toBe(
        `/login?return=${encodeURIComponent(path)}`,
      );
    });

    it('after the login, a first-party client gets its code at once, with state unchanged and iss', async () => {
      const browser = new TestBrowser(testApp);
      const state = 'opaque state/with+odd=characters&and"quotes';
      const { params, location } = await codeFor(
        browser,
        apps.native,
        'http://127.0.0.1:40000/callback',
        { state },
      );
      expect(location.startsWith('http://127.0.0.1:40000/callback?')).toBe(
        true,
      );
      expect(params).toEqual({
        code: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        state,
        iss: TEST_PUBLIC_URL,
      });
    });

    it('keeps the redirect URI’s own query', async () => {
      const adminToken = apps.adminToken;
      const withQuery = (await createClientAs(testApp, adminToken, {
        name: 'query',
        allowedScopes: ['profile'],
        allowedGrantTypes: ['authorization_code'],
        clientType: 'public',
        firstParty: true,
        redirectUris: ['https://q.example/cb?tenant=7'],
      })) as Registered;
      const { params } = await codeFor(
        new TestBrowser(testApp),
        withQuery,
        'https://q.example/cb?tenant=7',
      );
      expect(params).toMatchObject({
        tenant: '7',
        code: expect.any(String),
        iss: TEST_PUBLIC_URL,
      });
    });
  });

  describe('POST /auth/token grant_type=authorization_code', () => {
    it('issues tokens for the user, a refresh token, and a session like a password login', async () => {
      const browser = new TestBrowser(testApp);
      const { code, verifier } = await codeFor(
        browser,
        apps.native,
        'http://127.0.0.1:5000/callback',
        { scope: 'profile' },
      );
      const response = await redeem({
        code,
        redirect_uri: 'http://127.0.0.1:5000/callback',
        code_verifier: verifier,
        client_id: apps.native.id,
      }).expect(200);
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.body).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: expect.any(Number),
        refresh_token: expect.any(String),
        scope: 'profile',
      });
      const me = await testApp
        .http()
        .get('/users/me')
        .set('Authorization', `Bearer ${response.body.access_token}`)
        .expect(200);
      expect(me.body.username).toBe('alice');
      const sessions = await testApp
        .http()
        .get('/users/me/sessions')
        .set('Authorization', `Bearer ${response.body.access_token}`)
        .expect(200);
      expect(JSON.stringify(sessions.body)).toContain(apps.native.id);
      await testApp
        .http()
        .post('/auth/token')
        .type('form')
        .send({
          grant_type: 'refresh_token',
          refresh_token: response.body.refresh_token,
          client_id: apps.native.id,
        })
        .expect(200);
    });

    it('a confidential client must authenticate to redeem its code', async () => {
      const browser = new TestBrowser(testApp);
      const { code, verifier } = await codeFor(browser, apps.web, WEB_REDIRECT);
      const form = {
        code,
        redirect_uri: WEB_REDIRECT,
        code_verifier: verifier,
      };
      expectOAuthErrorBody(
        await redeem({ ...form, client_id: apps.web.id }),
        401,
        'invalid_client',
      );
      await redeem(form, apps.web).expect(200);
    });

    it('attack: a code replayed is refused, and the session it started ends (§4.1.2, RFC 9700 §4.2.4)', async () => {
      const browser = new TestBrowser(testApp);
      const { code, verifier } = await codeFor(
        browser,
        apps.native,
        NATIVE_REDIRECT,
      );
      const form = {
        code,
        redirect_uri: NATIVE_REDIRECT,
        code_verifier: verifier,
        client_id: apps.native.id,
      };
      const first = await redeem(form).expect(200);
      expectOAuthError(await redeem(form), 400, 'invalid_grant');
      const refresh = await testApp
        .http()
        .post('/auth/token')
        .type('form')
        .send({
          grant_type: 'refresh_token',
          refresh_token: first.body.refresh_token,
          client_id: apps.native.id,
        });
      expectOAuthErrorBody(refresh, 400, 'invalid_grant');
      const me = await testApp
        .http()
        .get('/users/me')
        .set('Authorization', `Bearer ${first.body.access_token}`);
      expect(me.status).toBe(401);
    });

    it('attack: a code used by another client is refused, and stays good for its own', async () => {
      const browser = new TestBrowser(testApp);
      const { code, verifier } = await codeFor(
        browser,
        apps.native,
        NATIVE_REDIRECT,
      );
      const form = {
        code,
        redirect_uri: NATIVE_REDIRECT,
        code_verifier: verifier,
      };
      expectOAuthError(
        await redeem({ ...form, client_id: apps.thirdParty.id }),
        400,
        'invalid_grant',
      );
      expectOAuthError(await redeem(form, apps.web), 400, 'invalid_grant');
      await redeem({ ...form, client_id: apps.native.id }).expect(200);
    });

    it('attack: another redirect_uri, another verifier, or none at all is refused', async () => {
      const browser = new TestBrowser(testApp);
      const { code, verifier } = await codeFor(
        browser,
        apps.native,
        'http://127.0.0.1:7000/callback',
      );
      const form = {
        code,
        redirect_uri: 'http://127.0.0.1:7000/callback',
        code_verifier: verifier,
        client_id: apps.native.id,
      };
      expectOAuthError(
        await redeem({
          ...form,
          redirect_uri: 'http://127.0.0.1:7001/callback',
        }),
        400,
        'invalid_grant',
      );
      expectOAuthError(
        await redeem({ ...form, redirect_uri: NATIVE_REDIRECT }),
        400,
        'invalid_grant',
      );
      expectOAuthError(
        await redeem({ ...form, code_verifier: pkcePair().verifier }),
        400,
        'invalid_grant',
      );
      expectOAuthError(
        await redeem({ ...form, code_verifier: 'short' }),
        400,
        'invalid_grant',
      );
      const { code_verifier: _verifier, ...withoutVerifier } = form;
      expectOAuthError(await redeem(withoutVerifier), 400, 'invalid_request');
      await redeem(form).expect(200);
    });

    it('a code never issued is refused', async () => {
      expectOAuthError(
        await redeem({
          code: 'x'.repeat(43),
          redirect_uri: NATIVE_REDIRECT,
          code_verifier: pkcePair().verifier,
          client_id: apps.native.id,
        }),
        400,
        'invalid_grant',
      );
    });

    it('a code is stored hashed, never as it was given', async () => {
      const { code } = await codeFor(
        new TestBrowser(testApp),
        apps.native,
        NATIVE_REDIRECT,
      );
      const rows = await testApp.app
        .get(DataSource)
        .query<{ id: string }[]>('SELECT id FROM authorization_codes');
      expect(rows.map((row) => row.id)).not.toContain(code);
      expect(JSON.stringify(rows)).not.toContain(code);
    });

    it('refuses a code for an API that let the client out since the sign-in (invalid_grant), without spending it', async () => {
      const api = (
        await testApp
          .http()
          .post('/resource-servers')
          .set('Authorization', `Bearer ${apps.adminToken}`)
          .send({
            identifier: 'https://orders.example.test',
            name: 'Orders API',
            scopes: [
              { name: 'orders:read', description: 'x', roles: ['user'] },
            ],
          })
          .expect(201)
      ).body as { id: string };
      const access = `/resource-servers/${api.id}/clients/${apps.web.id}`;
      const letIn = () =>
        testApp
          .http()
          .put(access)
          .set('Authorization', `Bearer ${apps.adminToken}`)
          .send({ scopes: ['orders:read'] })
          .expect(200);
      await letIn();
      const browser = new TestBrowser(testApp);
      const { code, verifier } = await codeFor(
        browser,
        apps.web,
        WEB_REDIRECT,
        {
          resource: 'https://orders.example.test',
        },
      );
      await testApp
        .http()
        .delete(access)
        .set('Authorization', `Bearer ${apps.adminToken}`)
        .expect(204);
      const form = {
        code,
        redirect_uri: WEB_REDIRECT,
        code_verifier: verifier,
      };
      const refused = await redeem(form, apps.web);
      expectOAuthError(refused, 400, 'invalid_grant');
      expect(refused.body.error_description).toBe(
        'The API this session signed in to no longer lets this client in; log in again.',
      );
      await letIn();
      const tokens = await redeem(form, apps.web).expect(200);
      expect(tokens.body.scope).toBe('orders:read');
    });
  });

  describe('refreshing a session from a code (RFC 8707 §2.2)', () => {
    it('stays within the API the user signed in for: another resource is invalid_target, the token not spent', async () => {
      const browser = new TestBrowser(testApp);
      const { code, verifier } = await codeFor(browser, apps.web, WEB_REDIRECT);
      const tokens = (
        await redeem(
          { code, redirect_uri: WEB_REDIRECT, code_verifier: verifier },
          apps.web,
        ).expect(200)
      ).body as { refresh_token: string; scope: string };
      const refreshAt = (resource?: string) =>
        testApp
          .http()
          .post('/auth/token')
          .auth(apps.web.id, apps.web.clientSecret!)
          .type('form')
          .send({
            grant_type: 'refresh_token',
            refresh_token: tokens.refresh_token,
            ...(resource === undefined ? {} : { resource }),
          });
      // The orders API of an earlier test lets this client in; the refusal does not depend on it.
      const refused = await refreshAt('https://orders.example.test');
      expectOAuthError(refused, 400, 'invalid_target');
      expect(refused.body.error_description).toBe(
        'This session was granted for one API: sign in again for another.',
      );
      const next = await refreshAt().expect(200);
      expect(next.body.scope).toBe(tokens.scope);
    });
  });

  describe('consent for a third-party client', () => {
    it('is asked, in words, then remembered, listed, and asked again once revoked', async () => {
      const browser = new TestBrowser(testApp);
      const { challenge } = pkcePair();
      const path = authorizePath({
        response_type: 'code',
        client_id: apps.thirdParty.id,
        redirect_uri: WEB_REDIRECT,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        state: 'c1',
        scope: 'profile',
      });
      await signIn(browser, path);
      const consent = await browser.get(path);
      isHtmlPage(consent, 200);
      expect(consent.headers['content-security-policy']).toContain(
        "form-action 'self' https://app.example.com",
      );
      expect(consent.text).toContain('<h1>Allow Partner App access?</h1>');
      expect(consent.text).toContain(
        'Read and change your own profile, password and sessions.',
      );
      const allow = await browser.post('/auth/authorize', {
        ...Object.fromEntries(hiddenFieldsOf(consent)),
        decision: 'allow',
      });
      expect(allow.status).toBe(303);
      expect(redirectParams(allow)).toEqual({
        code: expect.any(String),
        state: 'c1',
        iss: TEST_PUBLIC_URL,
      });

      const again = await browser.get(path);
      expect(again.status).toBe(302);

      const token = await passwordGrant(testApp, 'alice');
      const listed = await testApp
        .http()
        .get('/users/me/consents')
        .set('Authorization', `Bearer ${token}`)
        .expect(200);
      expect(listed.body).toEqual([
        {
          clientId: apps.thirdParty.id,
          audience: TEST_PUBLIC_URL,
          scopes: ['profile'],
          grantedAt: expect.any(String),
        },
      ]);
      await testApp
        .http()
        .delete(`/users/me/consents/${apps.thirdParty.id}`)
        .set('Authorization', `Bearer ${token}`)
        .expect(204);
      await testApp
        .http()
        .delete(`/users/me/consents/${apps.thirdParty.id}`)
        .set('Authorization', `Bearer ${token}`)
        .expect(404);
      expect((await browser.get(path)).status).toBe(200);
    });

    it('asks again for a scope beyond what was granted', async () => {
      const browser = new TestBrowser(testApp);
      const base = {
        response_type: 'code',
        client_id: apps.thirdParty.id,
        redirect_uri: WEB_REDIRECT,
        code_challenge: pkcePair().challenge,
        code_challenge_method: 'S256',
      };
      const narrow = authorizePath({ ...base, scope: 'profile' });
      await signIn(browser, narrow);
      const consent = await browser.get(narrow);
      await browser.post('/auth/authorize', {
        ...Object.fromEntries(hiddenFieldsOf(consent)),
        decision: 'allow',
      });
      const wider = await browser.get(
        authorizePath({ ...base, scope: 'profile users:read' }),
      );
      // alice has no users:read: refused as at the token endpoint, not consented.
      expect(redirectParams(wider)).toMatchObject({ error: 'invalid_scope' });
    });

    it('denied: access_denied at the redirect URI, with state and iss', async () => {
      const browser = new TestBrowser(testApp);
      const path = authorizePath({
        response_type: 'code',
        client_id: apps.thirdParty.id,
        redirect_uri: WEB_REDIRECT,
        code_challenge: pkcePair().challenge,
        code_challenge_method: 'S256',
        state: 'd1',
      });
      await signIn(browser, path, 'erin');
      const consent = await browser.get(path);
      const deny = await browser.post('/auth/authorize', {
        ...Object.fromEntries(hiddenFieldsOf(consent)),
        decision: 'deny',
      });
      expect(deny.status).toBe(303);
      expect(redirectParams(deny)).toEqual({
        error: 'access_denied',
        error_description: expect.any(String),
        state: 'd1',
        iss: TEST_PUBLIC_URL,
      });
    });

    it('attack: a consent form posted without its CSRF token is refused, no code issued', async () => {
      const browser = new TestBrowser(testApp);
      const path = authorizePath({
        response_type: 'code',
        client_id: apps.thirdParty.id,
        redirect_uri: WEB_REDIRECT,
        code_challenge: pkcePair().challenge,
        code_challenge_method: 'S256',
      });
      await signIn(browser, path, 'fred');
      const consent = await browser.get(path);
      const { csrf: _csrf, ...fields } = Object.fromEntries(
        hiddenFieldsOf(consent),
      );
      const forged = await browser.post('/auth/authorize', {
        ...fields,
        decision: 'allow',
      });
      isHtmlPage(forged, 403);
    });
  });

  describe('the login page', () => {
    it('renders a labelled form with a CSRF token, a heading and the page language, under a strict CSP, never framed', async () => {
      const page = await testApp.http().get('/login').expect(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.text).toContain('<html lang="en">');
      expect(page.text).toContain('<h1>Sign in</h1>');
      expect(page.text).toContain('<label for="username">Username</label>');
      expect(page.text).toContain('<label for="password">Password</label>');
      expect(page.text).toMatch(
        /<input\s+id="password"\s+name="password"\s+type="password"\s+autocomplete="current-password"\s+required\s*\/>/,
      );
      expect(page.text).not.toMatch(/<script|style=/);
      expect(page.text).toContain(
        '<a href="/docs#/users/registerUser">Create an account</a>',
      );
      expect(csrfOf(page)).toMatch(/^[A-Za-z0-9_-]{43}$/);
      // Attack: the login page in a frame (clickjacking).
      expect(page.headers['x-frame-options']).toBe('DENY');
      expect(page.headers['content-security-policy']).toContain(
        "frame-ancestors 'none'",
      );
      expect(page.headers['content-security-policy']).toContain(
        "default-src 'none'",
      );
      expect(page.headers['content-security-policy']).not.toContain(
        'unsafe-inline',
      );
      expect(page.headers['cache-control']).toBe('no-store');
      const css = await testApp.http().get('/assets/login.css').expect(200);
      expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    });

    it('names the app that asked, escaped', async () => {
      const page = await testApp
        .http()
        .get(`/login?return=${encodeURIComponent(request())}`)
        .expect(200);
      expect(page.text).toContain(
        'to continue to <strong>Native &lt;App&gt;</strong>',
      );
      expect(page.headers['content-security-policy']).toContain(
        "form-action 'self' http://127.0.0.1:53817",
      );
    });

    it('sets the pre-login session cookie: HttpOnly, SameSite=Lax, path /, not Secure over http', async () => {
      const page = await testApp.http().get('/login').expect(200);
      const cookie = (page.headers['set-cookie'] as unknown as string[]).find(
        (line) => line.startsWith('auth-session='),
      );
      expect(cookie).toMatch(
        /^auth-session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/,
      );
    });

    it('attack: a login form posted without its CSRF token, or with another browser’s, checks no password', async () => {
      const browser = new TestBrowser(testApp);
      await browser.get('/login');
      const without = await browser.post('/login', {
        username: 'alice',
        password: GOOD_PASSWORD,
        return: '/login',
      });
      isHtmlPage(without, 403);
      expect(without.text).toContain(
        'This form expired or did not come from this site',
      );
      const other = new TestBrowser(testApp);
      const foreign = csrfOf(await other.get('/login'));
      const forged = await browser.post('/login', {
        csrf: foreign,
        username: 'alice',
        password: GOOD_PASSWORD,
        return: '/login',
      });
      isHtmlPage(forged, 403);
      expect(browser.cookies.size).toBeGreaterThan(0);
      expect((await browser.get('/login')).text).toContain('<h1>Sign in</h1>');
    });

    it('says the password is wrong, tied to the field, and keeps the username', async () => {
      const browser = new TestBrowser(testApp);
      const page = await browser.get('/login');
      const response = await browser.post('/login', {
        csrf: csrfOf(page),
        username: 'alice',
        password: 'not the password at all',
        return: '/login',
      });
      isHtmlPage(response, 400);
      expect(response.text).toContain(
        '<p class="error" id="login-error" role="alert">The username or password is wrong, or the account is inactive.</p>',
      );
      expect(response.text).toMatch(
        /name="password"\s+type="password"[^>]*aria-describedby="login-error"\s+aria-invalid="true"/,
      );
      expect(response.text).toContain('value="alice"');
    });

    it('a wrong password is audited by the local strategy as login.failed, naming the client signed in to', async () => {
      const browser = new TestBrowser(testApp);
      const returnTo = request();
      const page = await browser.get(
        `/login?return=${encodeURIComponent(returnTo)}`,
      );
      await browser.post('/login', {
        csrf: csrfOf(page),
        username: 'alice',
        password: 'audited wrong password',
        return: returnTo,
      });
      const adminToken = await passwordGrant(
        testApp,
        ADMIN.username,
        ADMIN.password,
      );
      const events = await testApp
        .http()
        .get('/audit-events?type=login.failed')
        .set('Authorization', `Bearer ${adminToken}`)
        .expect(200);
      expect(events.body.items[0]).toMatchObject({
        clientId: apps.native.id,
        details: { reason: 'wrong_password' },
      });
    });

    it('asks for both fields when one is missing', async () => {
      const browser = new TestBrowser(testApp);
      const page = await browser.get('/login');
      const response = await browser.post('/login', {
        csrf: csrfOf(page),
        username: 'alice',
        return: '/login',
      });
      isHtmlPage(response, 400);
      expect(response.text).toContain('Enter your username and your password.');
    });

    it('rotates the session at login: the pre-login cookie is worth nothing after it (no fixation)', async () => {
      const browser = new TestBrowser(testApp);
      const page = await browser.get('/login');
      const before = browser.cookies.get('auth-session')!;
      const response = await browser.post('/login', {
        csrf: csrfOf(page),
        username: 'alice',
        password: GOOD_PASSWORD,
        return: '/login',
      });
      expect(response.status).toBe(303);
      expect(response.headers.location).toBe('/login');
      const after = browser.cookies.get('auth-session')!;
      expect(after).not.toBe(before);
      const signedIn = await browser.get('/login');
      expect(signedIn.text).toContain('Signed in as <strong>alice</strong>');
      const planted = await testApp
        .http()
        .get('/login')
        .set('Cookie', `auth-session=${before}`);
      expect(planted.text).toContain('<h1>Sign in</h1>');
      const rows = await testApp.app
        .get(DataSource)
        .query<{ id: string }[]>('SELECT id FROM browser_sessions');
      expect(JSON.stringify(rows)).not.toContain(after);
    });

    it('refuses a return that leaves this site (no open redirect)', async () => {
      for (const target of [
        'https://evil.example/',
        '//evil.example/x',
        '/\\evil.example',
        'javascript:alert(1)',
      ]) {
        const response = await testApp
          .http()
          .get(`/login?return=${encodeURIComponent(target)}`);
        isHtmlPage(response, 400);
      }
      const browser = new TestBrowser(testApp);
      const page = await browser.get('/login');
      const response = await browser.post('/login', {
        csrf: csrfOf(page),
        username: 'alice',
        password: GOOD_PASSWORD,
        return: '//evil.example/x',
      });
      expect(response.headers.location).toBe('/login');
    });

    it('POST /logout ends the browser session, and needs its CSRF token', async () => {
      const browser = new TestBrowser(testApp);
      await signIn(browser, '/login');
      const signedIn = await browser.get('/login');
      const refused = await browser.post('/logout', {});
      isHtmlPage(refused, 403);
      expect((await browser.get('/login')).text).toContain('Signed in as');
      const out = await browser.post('/logout', { csrf: csrfOf(signedIn) });
      isHtmlPage(out, 200);
      expect(out.text).toContain('<h1>You are signed out</h1>');
      expect((await browser.get('/login')).text).toContain('<h1>Sign in</h1>');
      const path = request();
      expect((await browser.get(path)).headers.location).toBe(
        `/login?return=${encodeURIComponent(path)}`,
      );
    });
  });
});

describe('the login page’s back-off and lifetimes', () => {
  let testApp: TestApp;
  const clock = useMovableClock();

  beforeAll(async () => {
    testApp = await createTestApp({
      ...ADMIN_ENV,
      LOGIN_BACKOFF_THRESHOLD: '2',
      LOGIN_BACKOFF_BASE_MS: '30000',
      REGISTRATION: 'closed',
      AUTHORIZATION_CODE_TTL: '30',
    });
    await testApp
      .http()
      .post('/users')
      .send({ username: 'bob', password: GOOD_PASSWORD });
  });
  afterAll(() => testApp.close());

  it('says how long to wait once the login back-off holds the username', async () => {
    const browser = new TestBrowser(testApp);
    let page = await browser.get('/login');
    expect(page.text).not.toContain('Create an account');
    for (let attempt = 0; attempt < 2; attempt++) {
      page = await browser.post('/login', {
        csrf: csrfOf(page),
        username: 'carol',
        password: 'wrong wrong wrong',
        return: '/login',
      });
    }
    const held = await browser.post('/login', {
      csrf: csrfOf(page),
      username: 'carol',
      password: 'wrong wrong wrong',
      return: '/login',
    });
    isHtmlPage(held, 429);
    expect(held.headers['retry-after']).toBe('30');
    expect(held.text).toContain(
      'Too many failed sign-ins for this account. Wait 30 seconds, then try again.',
    );
  });

  it('an expired code is refused', async () => {
    const adminToken = await passwordGrant(
      testApp,
      ADMIN.username,
      ADMIN.password,
    );
    const client = (await createClientAs(testApp, adminToken, {
      name: 'n',
      allowedScopes: ['profile'],
      allowedGrantTypes: ['authorization_code'],
      clientType: 'public',
      firstParty: true,
      redirectUris: [NATIVE_REDIRECT],
    })) as Registered;
    const browser = new TestBrowser(testApp);
    const { verifier, challenge } = pkcePair();
    const path = authorizePath({
      response_type: 'code',
      client_id: client.id,
      redirect_uri: NATIVE_REDIRECT,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    await signIn(browser, path, ADMIN.username, ADMIN.password);
    const { code } = redirectParams(await browser.get(path));
    clock.advance(31_000);
    const response = await testApp
      .http()
      .post('/auth/token')
      .type('form')
      .send({
        grant_type: 'authorization_code',
        code,
        redirect_uri: NATIVE_REDIRECT,
        code_verifier: verifier,
        client_id: client.id,
      });
    expectOAuthError(response, 400, 'invalid_grant');
  });

  it('a browser session ends after BROWSER_SESSION_TTL idle', async () => {
    const browser = new TestBrowser(testApp);
    await signIn(browser, '/login', ADMIN.username, ADMIN.password);
    expect((await browser.get('/login')).text).toContain('Signed in as');
    clock.advance(43_200_000 + 1000);
    expect((await browser.get('/login')).text).toContain('<h1>Sign in</h1>');
  });
});

describe('the browser session cookie behind https', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await createTestApp({ PUBLIC_URL: 'https://auth.test' });
  });
  afterAll(() => testApp.close());

  it('is __Host-auth-session, Secure, HttpOnly, SameSite=Lax, path /', async () => {
    const page = await testApp.http().get('/login').expect(200);
    const cookie = (page.headers['set-cookie'] as unknown as string[]).find(
      (line) => line.startsWith('__Host-'),
    );
    expect(cookie).toMatch(
      /^__Host-auth-session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
    );
  });
});
