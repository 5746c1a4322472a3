import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oauth from 'oauth4webapi';
import {
  ADMIN,
  ADMIN_ENV,
  createClientAs,
  GOOD_PASSWORD,
  passwordGrant,
  registerUser,
} from './utils/flows.js';
import { freePort } from './utils/processes.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp } from './utils/test-app.js';

/**
 * A browser by hand over real HTTP: fetch, redirects followed one by one,
 * the cookies carried, as a native app's embedded or system browser would.
 */
class FetchBrowser {
  private readonly cookies = new Map<string, string>();

  constructor(private readonly baseUrl: string) {}

  async request(url: string, form?: Record<string, string>): Promise<Response> {
    const response = await fetch(new URL(url, this.baseUrl), {
      method: form === undefined ? 'GET' : 'POST',
      redirect: 'manual',
      headers: {
        cookie: [...this.cookies]
          .map(([name, value]) => `${name}=${value}`)
          .join('; '),
        ...(form === undefined
          ? {}
          : { 'content-type': 'application/x-www-form-urlencoded' }),
      },
      body:
        form === undefined ? undefined : new URLSearchParams(form).toString(),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const separator = pair.indexOf('=');
      const value = pair.slice(separator + 1);
      if (value === '') this.cookies.delete(pair.slice(0, separator));
      else this.cookies.set(pair.slice(0, separator), value);
    }
    return response;
  }
}

/** The fields of a page's form (hidden ones), as the browser would post them. */
function formFields(page: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of page.matchAll(
    /<input\s+type="hidden"\s+name="([^"]+)"\s+value="([^"]*)"/g,
  ))
    fields[match[1]] = match[2]
      .replace(/&amp;/g, '&')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>');
  return fields;
}

/** panva's oauth4webapi runs the code flow with PKCE as a native app would (RFC 8252). */
describe('the authorization code flow with oauth4webapi', () => {
  let testApp: TestApp;
  let baseUrl: string;
  let as: oauth.AuthorizationServer;
  let nativeApp: oauth.Client;
  let partnerApp: oauth.Client;
  const options = { [oauth.allowInsecureRequests]: true };

  beforeAll(async () => {
    // oauth4webapi insists that the issuer is the address it reaches: choose the port first.
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    testApp = await createTestApp({ ...ADMIN_ENV, PUBLIC_URL: baseUrl });
    await testApp.app.listen({ port, host: '127.0.0.1' });
    await registerUser(testApp, 'alice');
    const adminToken = await passwordGrant(
      testApp,
      ADMIN.username,
      ADMIN.password,
    );
    const register = async (body: Record<string, unknown>) => ({
      client_id: (
        await createClientAs(testApp, adminToken, {
          allowedScopes: ['profile'],
          allowedGrantTypes: ['authorization_code', 'refresh_token'],
          clientType: 'public',
          redirectUris: ['http://127.0.0.1/callback'],
          ...body,
        })
      ).id,
      token_endpoint_auth_method: 'none',
    });
    nativeApp = await register({ name: 'cli', firstParty: true });
    partnerApp = await register({ name: 'partner' });
    const issuer = new URL(baseUrl);
    as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...options }),
    );
  });
  afterAll(() => testApp.close());

  /** Everything up to the redirect back to the app: login, and consent when asked. */
  async function authorize(client: oauth.Client, redirectUri: string) {
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(as.authorization_endpoint!);
    url.searchParams.set('client_id', client.client_id);
    url.searchParams.set('redirect_uri', redirectUri);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('scope', 'profile');
    url.searchParams.set('state', state);
    url.searchParams.set(
      'code_challenge',
      await oauth.calculatePKCECodeChallenge(codeVerifier),
    );
    url.searchParams.set('code_challenge_method', 'S256');

    const browser = new FetchBrowser(baseUrl);
    let response = await browser.request(url.toString());
    expect(response.status).toBe(303);
    const loginPage = await browser.request(response.headers.get('location')!);
    const login = formFields(await loginPage.text());
    response = await browser.request('/login', {
      ...login,
      username: 'alice',
      password: GOOD_PASSWORD,
    });
    expect(response.status).toBe(303);
    response = await browser.request(response.headers.get('location')!);
    if (response.status === 200) {
      // The consent page: allow.
      response = await browser.request('/auth/authorize', {
        ...formFields(await response.text()),
        decision: 'allow',
      });
    }
    expect([302, 303]).toContain(response.status);
    return {
      callback: new URL(response.headers.get('location')!),
      state,
      codeVerifier,
    };
  }

  async function tokensFor(client: oauth.Client) {
    const redirectUri = `http://127.0.0.1:${await freePort()}/callback`;
    const { callback, state, codeVerifier } = await authorize(
      client,
      redirectUri,
    );
    // Checks state, and iss against the issuer (RFC 9207), before the code is touched.
    const params = oauth.validateAuthResponse(as, client, callback, state);
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      oauth.None(),
      params,
      redirectUri,
      codeVerifier,
      options,
    );
    return oauth.processAuthorizationCodeResponse(as, client, response);
  }

  it('discovers the authorization endpoint, PKCE S256 and iss', () => {
    expect(as.authorization_endpoint).toBe(`${baseUrl}/auth/authorize`);
    expect(as.code_challenge_methods_supported).toEqual(['S256']);
    expect(as.authorization_response_iss_parameter_supported).toBe(true);
  });

  it('a first-party native app gets tokens that work at /users/me, and refreshes them', async () => {
    const tokens = await tokensFor(nativeApp);
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.scope).toBe('profile');
    const me = await fetch(`${baseUrl}/users/me`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { username: string }).username).toBe('alice');
    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      nativeApp,
      await oauth.refreshTokenGrantRequest(
        as,
        nativeApp,
        oauth.None(),
        tokens.refresh_token!,
        options,
      ),
    );
    expect(refreshed.access_token).toEqual(expect.any(String));
  });

  it('a third-party app gets tokens after the consent page', async () => {
    const tokens = await tokensFor(partnerApp);
    expect(tokens.access_token).toEqual(expect.any(String));
  });

  it('attack: a mix-up (RFC 9700 §4.4): a response whose iss is another server’s is refused by the client', async () => {
    const redirectUri = `http://127.0.0.1:${await freePort()}/callback`;
    const { callback, state } = await authorize(nativeApp, redirectUri);
    const otherServer: oauth.AuthorizationServer = {
      ...as,
      issuer: 'https://other-as.example',
    };
    expect(() =>
      oauth.validateAuthResponse(otherServer, nativeApp, callback, state),
    ).toThrow(/iss/);
    const tampered = new URL(callback);
    tampered.searchParams.set('iss', 'https://other-as.example');
    expect(() =>
      oauth.validateAuthResponse(as, nativeApp, tampered, state),
    ).toThrow(/iss/);
    // And the state is the client's to check: a changed one is refused.
    expect(() =>
      oauth.validateAuthResponse(as, nativeApp, callback, `${state}x`),
    ).toThrow(/state/);
  });

  it('an error response carries iss too, which the client checks', async () => {
    const url = new URL(as.authorization_endpoint!);
    url.searchParams.set('client_id', nativeApp.client_id);
    url.searchParams.set('redirect_uri', 'http://127.0.0.1:9/callback');
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('state', 'e1');
    const response = await fetch(url, { redirect: 'manual' });
    expect(response.status).toBe(302);
    const callback = new URL(response.headers.get('location')!);
    expect(callback.searchParams.get('iss')).toBe(baseUrl);
    expect(() =>
      oauth.validateAuthResponse(as, nativeApp, callback, 'e1'),
    ).toThrow(expect.objectContaining({ error: 'invalid_request' }));
  });
});
