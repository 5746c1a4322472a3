import { expect } from '@jest/globals';
import type { Response } from 'supertest';
import { TEST_PUBLIC_URL } from './test-app.js';

/**
 * RFC 6750 §3: the challenge every protected route starts with (realm, and
 * the RFC 9728 §5.1 resource metadata URL).
 */
export const BEARER_PREFIX = `Bearer realm="${TEST_PUBLIC_URL}", resource_metadata="${TEST_PUBLIC_URL}/.well-known/oauth-protected-resource"`;

/** RFC 6750 §3.1: a request without any token gets the bare challenge, no error code. */
export const MISSING_TOKEN_CHALLENGE = BEARER_PREFIX;

/**
 * RFC 6750 §3: the whole invalid_token challenge, with a description without
 * `"` or `\` (captured as group 1).
 */
export const INVALID_TOKEN_CHALLENGE =
  /^Bearer realm="http:\/\/auth\.test", resource_metadata="http:\/\/auth\.test\/\.well-known\/oauth-protected-resource", error="invalid_token", error_description="([^"\\]+)"$/;

/** RFC 6750 §3.1: only that the challenge is this realm's and names invalid_token. */
export const ANY_INVALID_TOKEN_CHALLENGE =
  /^Bearer realm="http:\/\/auth\.test", .*error="invalid_token"/;

/** RFC 6749 §5.2 / RFC 7617: the challenge of a failed client authentication. */
export const BASIC_CHALLENGE = `Basic realm="${TEST_PUBLIC_URL}", charset="UTF-8"`;

/**
 * RFC 9457 problem details at this path; validation failures (400) and only
 * they carry `errors`.
 */
export function expectProblem(
  response: Response,
  status: number,
  instance: string,
) {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(
    /^application\/problem\+json/,
  );
  expect(response.body).toEqual({
    type: 'about:blank',
    title: expect.any(String),
    status,
    detail: expect.any(String),
    instance,
    ...(status === 400 ? { errors: expect.any(Array) } : {}),
  });
}

/** RFC 6750 §3.1: a refused access token, problem details and the full challenge. */
export function expectInvalidToken(response: Response, instance: string) {
  expectProblem(response, 401, instance);
  expect(response.headers['www-authenticate']).toMatch(INVALID_TOKEN_CHALLENGE);
}

/** RFC 6750 §3.1: a refused access token; the challenge only names invalid_token. */
export function expectTokenRefused(response: Response) {
  expect(response.status).toBe(401);
  expect(response.headers['content-type']).toMatch(
    /^application\/problem\+json/,
  );
  expect(response.headers['www-authenticate']).toMatch(
    ANY_INVALID_TOKEN_CHALLENGE,
  );
}

/** RFC 6749 §5.2: the error body alone, headers not checked. */
export function expectOAuthErrorBody(
  response: Response,
  status: number,
  error: string,
) {
  expect({ status: response.status, body: response.body }).toEqual({
    status,
    body: { error, error_description: expect.any(String) },
  });
}

/** RFC 6749 §5.2 error response: JSON, never cached (§5.1 Cache-Control). */
export function expectOAuthError(
  response: Response,
  status: number,
  error: string,
) {
  expectOAuthErrorBody(response, status, error);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  expect(response.headers['cache-control']).toBe('no-store');
}

/** RFC 6749 §5.2: 400 invalid_grant (bad credentials, or a dead refresh token). */
export function expectInvalidGrant(response: Response) {
  expectOAuthErrorBody(response, 400, 'invalid_grant');
}
