import { expect } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import type { Response } from 'supertest';
import type { TestApp } from './test-app.js';
import { GOOD_PASSWORD } from './flows.js';

/**
 * A browser as far as these tests need one: a cookie jar over supertest,
 * redirects followed by hand so that each hop can be looked at.
 */
export class TestBrowser {
  readonly cookies = new Map<string, string>();

  constructor(private readonly testApp: TestApp) {}

  async get(path: string): Promise<Response> {
    const response = await this.testApp
      .http()
      .get(path)
      .set('Cookie', this.cookieHeader());
    this.keep(response);
    return response;
  }

  async post(
    path: string,
    form: Record<string, string | string[]>,
  ): Promise<Response> {
    const response = await this.testApp
      .http()
      .post(path)
      .type('form')
      .set('Cookie', this.cookieHeader())
      .send(new URLSearchParams(entries(form)).toString());
    this.keep(response);
    return response;
  }

  cookieHeader(): string {
    return [...this.cookies]
      .map(([name, value]) => `${name}=${value}`)
      .join('; ');
  }

  private keep(response: Response): void {
    const setCookie = response.headers['set-cookie'] as unknown as
      string[] | undefined;
    for (const line of setCookie ?? []) {
      const [pair, ...attributes] = line.split(';');
      const separator = pair.indexOf('=');
      const name = pair.slice(0, separator).trim();
      const value = pair.slice(separator + 1).trim();
      const expired = attributes.some(
        (attribute) =>
          /^\s*expires=/i.test(attribute) &&
          new Date(attribute.split('=')[1]).getTime() < Date.now(),
      );
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

function entries(form: Record<string, string | string[]>): [string, string][] {
  return Object.entries(form).flatMap(([name, value]) =>
    Array.isArray(value)
      ? value.map((one) => [name, one] as [string, string])
      : [[name, value] as [string, string]],
  );
}

/** The CSRF token of the page's (first) form. */
export function csrfOf(page: Response): string {
  const match = /name="csrf"\s+value="([^"]+)"/.exec(page.text);
  if (match === null)
    throw new Error(`no CSRF token in the page:\n${page.text}`);
  return match[1];
}

/** The hidden fields of the consent form, as it would post them. */
export function hiddenFieldsOf(page: Response): [string, string][] {
  return [
    ...page.text.matchAll(
      /<input\s+type="hidden"\s+name="([^"]+)"\s+value="([^"]*)"\s*\/?>/g,
    ),
  ].map((match) => [match[1], unescapeHtml(match[2])]);
}

function unescapeHtml(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** RFC 7636 §4.1 and §4.2: a verifier and its S256 challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

export function authorizePath(
  params: Record<string, string | undefined>,
): string {
  const query = new URLSearchParams(
    Object.entries(params).filter(
      (entry): entry is [string, string] => entry[1] !== undefined,
    ),
  );
  return `/auth/authorize?${query.toString()}`;
}

/** Signs the browser in on the login page, returning where the login sent it. */
export async function signIn(
  browser: TestBrowser,
  returnTo: string,
  username = 'alice',
  password = GOOD_PASSWORD,
): Promise<Response> {
  const page = await browser.get(
    `/login?return=${encodeURIComponent(returnTo)}`,
  );
  expect(page.status).toBe(200);
  return browser.post('/login', {
    csrf: csrfOf(page),
    return: returnTo,
    username,
    password,
  });
}

/** The query of a redirect to the client, as an object. */
export function redirectParams(response: Response): Record<string, string> {
  const location = response.headers.location;
  return Object.fromEntries(new URL(location).searchParams);
}
