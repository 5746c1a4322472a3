import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'openapi-fetch';
import createClient from 'openapi-fetch';
import { GOOD_PASSWORD } from '../utils/flows.js';
import type { TestApp } from '../utils/test-app.js';
import { createTestApp, listenOnLoopback } from '../utils/test-app.js';
import type { components, paths } from './api.generated.js';

type Schemas = components['schemas'];

/** Compile-time equality: `tsc --noEmit` fails when a response type drifts. */
type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2
    ? true
    : false;
const expectType = <T extends true>(): T | undefined => undefined;

/**
 * RFC 6749 §3.2: the token endpoint takes a form. openapi-fetch encodes one by
 * itself when it sees this Content-Type, but under jest's VM its
 * `headers.get instanceof Function` check fails across realms, so the form is
 * encoded here.
 */
const FORM = {
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  // A list (RFC 8707's `resource`) is the field repeated, as the document's form encoding says.
  bodySerializer: (body: Record<string, string | string[] | undefined>) =>
    new URLSearchParams(
      Object.entries(body).flatMap(([name, value]) =>
        value === undefined
          ? []
          : (Array.isArray(value) ? value : [value]).map(
              (one): [string, string] => [name, one],
            ),
      ),
    ).toString(),
} as const;

describe('a client generated from openapi.json (openapi-typescript + openapi-fetch)', () => {
  let testApp: TestApp;
  let client: Client<paths>;

  beforeAll(async () => {
    testApp = await createTestApp();
    client = createClient<paths>({ baseUrl: await listenOnLoopback(testApp) });
  });
  afterAll(() => testApp.close());

  it('is generated from the committed openapi.json exactly as committed (else: npm run openapi)', () => {
    const directory = mkdtempSync(join(tmpdir(), 'client-types-'));
    try {
      const output = join(directory, 'api.generated.ts');
      execFileSync(process.execPath, [
        'tools/generate-client-types.mjs',
        'openapi.json',
        output,
      ]);
      expect(readFileSync(output, 'utf8')).toBe(
        readFileSync('test/client/api.generated.ts', 'utf8'),
      );
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('registers, logs in, reads /users/me, refreshes and reads it again, all typed', async () => {
    const username = 'typed-client';

    const registered = await client.POST('/users', {
      body: { username, password: GOOD_PASSWORD },
    });
    expect(registered.response.status).toBe(201);
    expectType<Equal<typeof registered.data, Schemas['UserDto'] | undefined>>();
    expect(registered.data?.username).toBe(username);

    const login = await client.POST('/auth/token', {
      ...FORM,
      body: { grant_type: 'password', username, password: GOOD_PASSWORD },
    });
    expect(login.error).toBeUndefined();
    expect(login.response.status).toBe(200);
    expectType<
      Equal<typeof login.data, Schemas['TokenResponseDto'] | undefined>
    >();
    const tokens: Schemas['TokenResponseDto'] = login.data!;
    expect(tokens).toMatchObject({ token_type: 'Bearer', scope: 'profile' });
    expect(tokens.refresh_token).toEqual(expect.any(String));

    const me = await client.GET('/users/me', {
      headers: { Authorization: `Bearer ${tokens.access_token}` },
    });
    expect(me.response.status).toBe(200);
    const user: Schemas['UserDto'] = me.data!;
    expect(user).toEqual({
      id: registered.data!.id,
      username,
      isActive: true,
      roles: ['user'],
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });

    const refreshed = await client.POST('/auth/token', {
      ...FORM,
      body: {
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token,
      },
    });
    expect(refreshed.response.status).toBe(200);
    expect(refreshed.data?.refresh_token).not.toBe(tokens.refresh_token);

    const meAgain = await client.GET('/users/me', {
      headers: { Authorization: `Bearer ${refreshed.data!.access_token}` },
    });
    expect(meAgain.data?.username).toBe(username);
  });

  it('types a wrong password as the documented RFC 6749 error', async () => {
    const wrong = await client.POST('/auth/token', {
      ...FORM,
      body: {
        grant_type: 'password',
        username: 'typed-client',
        password: 'not the password at all',
      },
    });
    expect(wrong.response.status).toBe(400);
    expectType<
      Equal<typeof wrong.error, Schemas['OAuthErrorDto'] | undefined>
    >();
    const error: Schemas['OAuthErrorDto'] = wrong.error!;
    expect(error).toEqual({
      error: 'invalid_grant',
      error_description: expect.any(String),
    });
  });

  it('types a taken username and a missing token as RFC 9457 problem details', async () => {
    const taken = await client.POST('/users', {
      body: { username: 'typed-client', password: GOOD_PASSWORD },
    });
    expect(taken.response.status).toBe(409);
    expect(taken.response.headers.get('content-type')).toMatch(
      /^application\/problem\+json/,
    );
    const problem: Schemas['ProblemDetailsDto'] = taken.error!;
    expect(problem).toMatchObject({ status: 409, title: 'Conflict' });

    const anonymous = await client.GET('/users/me');
    expect(anonymous.response.status).toBe(401);
    expectType<
      Equal<typeof anonymous.error, Schemas['ProblemDetailsDto'] | undefined>
    >();
    expect(anonymous.error).toMatchObject({
      status: 401,
      instance: '/users/me',
    });
  });

  it('types a 400 as validation problem details that name the field', async () => {
    const invalid = await client.POST('/users', {
      body: { username: 'x', password: GOOD_PASSWORD },
    });
    expect(invalid.response.status).toBe(400);
    const error = invalid.error!;
    // The error is a union of the documented bodies; `errors` narrows it to the 400's.
    if (!('errors' in error))
      throw new Error('expected validation problem details');
    const validation: Schemas['ValidationProblemDetailsDto'] = error;
    expect(validation.errors.map((entry) => entry.field)).toContain('username');
  });
});
