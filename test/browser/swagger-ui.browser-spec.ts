import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { GOOD_PASSWORD } from '../utils/flows.js';
import { freePort } from '../utils/processes.js';
import type { TestApp } from '../utils/test-app.js';
import { createTestApp } from '../utils/test-app.js';

/**
 * Swagger UI in a real browser: Debian's Chromium (`apt-get install
 * chromium`, as .ci/run does) driven by playwright-core, which never
 * downloads a browser of its own.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = 'test-artifacts';
const USERNAME = 'swagger-user';
const ADMIN_USERNAME = 'browser-admin';
const ADMIN_PASSWORD = 'an administrator passphrase for the browser';

const chromiumFound = existsSync(CHROMIUM);
if (!chromiumFound) {
  const message = `Chromium is not at ${CHROMIUM}: install it with \`apt-get install chromium\` (or set CHROMIUM_PATH).`;
  // In CI a missing browser is a failure, never a silent skip.
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(
    `\n${'!'.repeat(72)}\n  SKIPPING the Swagger UI browser tests. ${message}\n${'!'.repeat(72)}\n`,
  );
}

/** What a page must not do: log an error, break a script, fail or be refused a request. */
class Problems {
  readonly seen: string[] = [];
  /** Console errors the test expects, e.g. the 400 of a wrong password. */
  private readonly allowed: RegExp[] = [];

  static async watch(page: Page): Promise<Problems> {
    const problems = new Problems();
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const text = `console: ${message.text()} (${message.location().url})`;
      if (!problems.allowed.some((pattern) => pattern.test(text))) {
        problems.seen.push(text);
      }
    });
    page.on('pageerror', (error) =>
      problems.seen.push(`page: ${error.message}`),
    );
    page.on('requestfailed', (request) =>
      problems.seen.push(
        `failed: ${request.url()} ${request.failure()?.errorText ?? ''}`,
      ),
    );
    // A blocked asset also shows as a console error; this names the directive.
    await page.exposeFunction('reportCspViolation', (violation: string) =>
      problems.seen.push(`CSP: ${violation}`),
    );
    // Runs in the page (a string: this project's TypeScript has no DOM types).
    await page.addInitScript({
      content: `document.addEventListener('securitypolicyviolation', (event) =>
        window.reportCspViolation(event.violatedDirective + ' blocked ' + event.blockedURI));`,
    });
    return problems;
  }

  allow(pattern: RegExp): void {
    this.allowed.push(pattern);
  }
}

(chromiumFound ? describe : describe.skip)('Swagger UI in Chromium', () => {
  let testApp: TestApp;
  let baseUrl: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: Problems;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    // The code flow's redirect URI follows PUBLIC_URL: the address Chromium reaches.
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    testApp = await createTestApp({
      PUBLIC_URL: baseUrl,
      ADMIN_USERNAME,
      ADMIN_PASSWORD,
    });
    await testApp.app.listen({ port, host: '127.0.0.1' });
    const registered = await fetch(`${baseUrl}/users`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: USERNAME, password: GOOD_PASSWORD }),
    });
    expect(registered.status).toBe(201);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await testApp?.close();
  });

  /** A fresh profile per test: persistAuthorization keeps tokens in localStorage. */
  async function openDocs(): Promise<void> {
    context = await browser.newContext({
      viewport: { width: 1280, height: 1000 },
    });
    page = await context.newPage();
    problems = await Problems.watch(page);
    const response = await page.goto(`${baseUrl}/docs`);
    expect(response?.status()).toBe(200);
    await page.locator('.swagger-ui .btn.authorize').waitFor();
    await page.locator('#operations-users-getCurrentUser').waitFor();
  }

  /** Opens Authorize and fills the oauth2 (password flow) form. */
  async function fillPasswordForm(password: string) {
    await page.locator('.swagger-ui .auth-wrapper .btn.authorize').click();
    // The oauth2 scheme's form (the dialog also has clientBasic and bearer).
    const oauth2 = page
      .locator('.modal-ux .auth-container')
      .filter({ hasText: 'OAuth2, password' });
    await oauth2.locator('#oauth_username').fill(USERNAME);
    await oauth2.locator('#oauth_password').fill(password);
    // The checkbox itself is hidden; Swagger UI draws its label.
    const profile = oauth2.locator(
      'input[type=checkbox][data-value="profile"]',
    );
    const id = await profile.getAttribute('id');
    await oauth2.locator(`label[for="${id}"]`).click();
    expect(await profile.isChecked()).toBe(true);
    return oauth2;
  }

  /** Everything the page keeps in localStorage and sessionStorage, as one string. */
  async function browserStorage(): Promise<string> {
    return page.evaluate(
      'JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage } })',
    );
  }

  async function closeContext(): Promise<void> {
    await context.close();
  }

  it('authorizes with the password flow and runs GET /users/me: 200 and the username', async () => {
    await openDocs();
    try {
      const oauth2 = await fillPasswordForm(GOOD_PASSWORD);
      const tokenResponse = page.waitForResponse(
        (response) => new URL(response.url()).pathname === '/auth/token',
      );
      await oauth2.locator('.btn.modal-btn.auth.authorize').click();
      const tokens = await tokenResponse;
      expect(tokens.status()).toBe(200);
      const { access_token: accessToken, refresh_token: refreshToken } =
        (await tokens.json()) as {
          access_token: string;
          refresh_token: string;
        };
      // Swagger UI swaps the form for "Authorized" and a Logout button.
      await oauth2
        .getByRole('button', { name: 'Remove authorization' })
        .waitFor();
      expect(await oauth2.textContent()).toContain('Authorized');
      expect(await oauth2.textContent()).toContain(USERNAME);
      await oauth2.locator('h4').scrollIntoViewIfNeeded();
      await page.screenshot({
        path: `${ARTIFACTS}/swagger-ui-authorized-dialog.png`,
      });
      await oauth2.locator('.btn-done').click();

      const operation = page.locator('#operations-users-getCurrentUser');
      await operation.locator('.opblock-summary').click();
      await operation.locator('.try-out__btn').click();
      const meResponse = page.waitForResponse(
        (response) => new URL(response.url()).pathname === '/users/me',
      );
      await operation.locator('.execute').click();
      const me = await meResponse;
      expect(me.status()).toBe(200);
      expect(me.request().headers().authorization).toMatch(/^Bearer ey/);

      const live = operation.locator('.live-responses-table');
      await live.locator('.response .response-col_status').waitFor();
      expect(
        (
          await live.locator('.response .response-col_status').textContent()
        )?.trim(),
      ).toBe('200');
      expect(
        await live.locator('.response .response-col_description').textContent(),
      ).toContain(`"username": "${USERNAME}"`);

      // The authorized call: the curl line with its Bearer token, and the 200.
      await operation.evaluate('(element) => element.scrollIntoView()');
      await page.screenshot({ path: `${ARTIFACTS}/swagger-ui-users-me.png` });

      // ASVS V14.3.3: what outlives the page is the access token, never the
      // password or the refresh token.
      const stored = await browserStorage();
      expect(stored).not.toContain(GOOD_PASSWORD);
      expect(stored).not.toContain(refreshToken);
      expect(stored).toContain(accessToken);
      // ...and it is enough to stay authorized when the page is opened again.
      await page.goto(`${baseUrl}/docs`);
      const reloaded = page.locator('#operations-users-getCurrentUser');
      await reloaded.locator('.opblock-summary').click();
      await reloaded.locator('.try-out__btn').click();
      const meAfterReload = page.waitForResponse(
        (response) => new URL(response.url()).pathname === '/users/me',
      );
      await reloaded.locator('.execute').click();
      expect((await meAfterReload).request().headers().authorization).toBe(
        `Bearer ${accessToken}`,
      );
      expect(await browserStorage()).not.toContain(GOOD_PASSWORD);
      expect(problems.seen).toEqual([]);
    } finally {
      await closeContext();
    }
  }, 60_000);

  it("shows Swagger UI's error for a wrong password, not a blank dialog", async () => {
    await openDocs();
    try {
      // Chromium logs every 4xx fetch as a console error; this one is the point.
      problems.allow(/status of 400 .*\/auth\/token/);
      const oauth2 = await fillPasswordForm('not the right password at all');
      const tokenResponse = page.waitForResponse(
        (response) => new URL(response.url()).pathname === '/auth/token',
      );
      await oauth2.locator('.btn.modal-btn.auth.authorize').click();
      expect((await tokenResponse).status()).toBe(400);

      const errors = oauth2.locator('.errors');
      await errors.waitFor();
      expect(await errors.textContent()).toMatch(/invalid_grant/);
      // Still the form, so the user can try again.
      expect(await oauth2.locator('#oauth_username').isVisible()).toBe(true);
      await errors.scrollIntoViewIfNeeded();
      await page.screenshot({
        path: `${ARTIFACTS}/swagger-ui-wrong-password.png`,
      });
      expect(problems.seen).toEqual([]);
    } finally {
      await closeContext();
    }
  }, 60_000);

  /** Ticks a scope's checkbox in one flow's form (Swagger UI hides the box and draws its label). */
  async function tickScope(
    flow: ReturnType<Page['locator']>,
    scope: string,
  ): Promise<void> {
    const box = flow.locator(`input[type=checkbox][data-value="${scope}"]`);
    const id = await box.getAttribute('id');
    await flow.locator(`label[for="${id}"]`).click();
    expect(await box.isChecked()).toBe(true);
  }

  /** Signs in on the hosted login page shown in `on`. */
  async function signInOnHostedPage(on: Page, password = GOOD_PASSWORD) {
    await on.waitForURL(/\/login\?/);
    await on.getByLabel('Username').fill(USERNAME);
    await on.getByLabel('Password').fill(password);
    await on.getByRole('button', { name: 'Sign in' }).click();
  }

  it('signs in with the code flow and PKCE on the hosted page, with nothing to configure, and runs GET /users/me', async () => {
    await openDocs();
    try {
      await page.locator('.swagger-ui .auth-wrapper .btn.authorize').click();
      const codeFlow = page
        .locator('.modal-ux .auth-container')
        .filter({ hasText: 'authorizationCode' });
      await tickScope(codeFlow, 'profile');
      const popupOpened = context.waitForEvent('page');
      const tokenResponse = page.waitForResponse(
        (response) => new URL(response.url()).pathname === '/auth/token',
      );
      await codeFlow.locator('.btn.modal-btn.auth.authorize').click();
      const popup = await popupOpened;
      const popupProblems = await Problems.watch(popup);
      await popup.waitForURL(/\/login\?/);
      await popup
        .locator('main')
        .screenshot({ path: `${ARTIFACTS}/login-page.png` });
      await signInOnHostedPage(popup);

      const tokens = await tokenResponse;
      expect(tokens.status()).toBe(200);
      const body = new URLSearchParams(tokens.request().postData() ?? '');
      expect(body.get('grant_type')).toBe('authorization_code');
      expect(body.get('client_id')).toBe('swagger-ui');
      expect(body.get('code_verifier')).toMatch(/^[\w-]{43,128}$/);
      await codeFlow
        .getByRole('button', { name: 'Remove authorization' })
        .waitFor();
      await codeFlow.locator('.btn-done').click();

      const operation = page.locator('#operations-users-getCurrentUser');
      await operation.locator('.opblock-summary').click();
      await operation.locator('.try-out__btn').click();
      const meResponse = page.waitForResponse(
        (response) => new URL(response.url()).pathname === '/users/me',
      );
      await operation.locator('.execute').click();
      const me = await meResponse;
      expect(me.status()).toBe(200);
      expect(await me.json()).toMatchObject({ username: USERNAME });
      expect(problems.seen).toEqual([]);
      expect(popupProblems.seen).toEqual([]);
    } finally {
      await closeContext();
    }
  }, 60_000);

  /** Registers a client as the seeded administrator would, through the API. */
  async function registerClient(body: object): Promise<{ id: string }> {
    const token = await fetch(`${baseUrl}/auth/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'password',
        username: ADMIN_USERNAME,
        password: ADMIN_PASSWORD,
      }),
    });
    const { access_token } = (await token.json()) as { access_token: string };
    const created = await fetch(`${baseUrl}/clients`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${access_token}`,
      },
      body: JSON.stringify(body),
    });
    expect(created.status).toBe(201);
    return (await created.json()) as { id: string };
  }

  it('asks consent for a third-party app, in words, then signs out', async () => {
    const app = await registerClient({
      name: 'Photo Printer',
      clientType: 'public',
      tokenEndpointAuthMethod: 'none',
      allowedScopes: ['profile'],
      allowedGrantTypes: ['authorization_code'],
      redirectUris: [`${baseUrl}/callback`],
    });
    context = await browser.newContext({
      viewport: { width: 1280, height: 1000 },
    });
    page = await context.newPage();
    problems = await Problems.watch(page);
    // The app's redirect URI is a page nobody serves here: its 404 is the end of the flow.
    problems.allow(/status of 404 .*\/callback/);
    // ...and the browser's ask for that page's icon, which no page named.
    problems.allow(/status of 404 .*\/favicon\.ico/);
    try {
      const query = new URLSearchParams({
        response_type: 'code',
        client_id: app.id,
        redirect_uri: `${baseUrl}/callback`,
        scope: 'profile',
        state: 'xyz',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
      });
      await page.goto(`${baseUrl}/auth/authorize?${query.toString()}`);
      await signInOnHostedPage(page);
      await page
        .getByRole('heading', { name: 'Allow Photo Printer access?' })
        .waitFor();
      expect(await page.textContent('main')).toContain(
        'Read and change your own profile, password and sessions.',
      );
      await page
        .locator('main')
        .screenshot({ path: `${ARTIFACTS}/consent-page.png` });
      const landed = page.waitForURL(/\/callback\?/);
      await page.getByRole('button', { name: 'Allow' }).click();
      await landed;
      const back = new URL(page.url()).searchParams;
      expect(back.get('state')).toBe('xyz');
      expect(back.get('iss')).toBe(baseUrl);
      expect(back.get('code')).toEqual(expect.any(String));

      // Signed in, the login page offers to sign out; afterwards the browser is a stranger.
      await page.goto(`${baseUrl}/login`);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
      await page.goto(`${baseUrl}/auth/authorize?${query.toString()}`);
      await page.waitForURL(/\/login\?/);
      expect(problems.seen).toEqual([]);
    } finally {
      await closeContext();
    }
  }, 60_000);

  it('completes a device flow: the tool polls while the user types its code on /device', async () => {
    const cli = await registerClient({
      name: 'Acme CLI',
      clientType: 'public',
      tokenEndpointAuthMethod: 'none',
      allowedScopes: ['profile'],
      allowedGrantTypes: ['urn:ietf:params:oauth:grant-type:device_code'],
    });
    const started = (await (
      await fetch(`${baseUrl}/auth/device_authorization`, {
        method: 'POST',
        body: new URLSearchParams({ client_id: cli.id, scope: 'profile' }),
      })
    ).json()) as {
      device_code: string;
      user_code: string;
      verification_uri_complete: string;
    };
    context = await browser.newContext({
      viewport: { width: 1280, height: 1000 },
    });
    page = await context.newPage();
    problems = await Problems.watch(page);
    try {
      await page.goto(started.verification_uri_complete);
      await signInOnHostedPage(page);
      const code = page.getByLabel('Code');
      expect(await code.inputValue()).toBe(started.user_code);
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('heading', { name: 'Allow Acme CLI?' }).waitFor();
      await page.getByRole('button', { name: 'Allow' }).click();
      await page.getByRole('heading', { name: 'Device connected' }).waitFor();
      const polled = await fetch(`${baseUrl}/auth/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
          device_code: started.device_code,
          client_id: cli.id,
        }),
      });
      expect(polled.status).toBe(200);
      expect(problems.seen).toEqual([]);
    } finally {
      await closeContext();
    }
  }, 60_000);

  // The document gives the password flow a refreshUrl, but Swagger UI 5
  // never refreshes a token: when one expires it asks for the password again
  // (Logout, Authorize). Refresh is proven by the generated-client test.
});
