import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { hashSecret } from '../src/common/secrets.js';
import { RefreshToken } from '../src/sessions/refresh-token.entity.js';
import { User } from '../src/users/user.entity.js';
import { expectOAuthError, expectTokenRefused } from './utils/expectations.js';
import {
  ADMIN,
  ADMIN_ENV,
  ADMIN_SCOPE,
  createClientAs,
  GOOD_PASSWORD,
  registerUser,
  tokenClient,
} from './utils/flows.js';
import type { TokenBody } from './utils/flows.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp } from './utils/test-app.js';

const REFRESH_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** RFC 6749 §5.2 error body, never cached (§5.1), with the HTTP/1.0 Pragma too. */
function expectOAuthErrorWithPragma(
  response: Response,
  status: number,
  error: string,
) {
  expectOAuthError(response, status, error);
  expect(response.headers.pragma).toBe('no-cache');
}

describe('POST /auth/token grant_type=refresh_token', () => {
  let testApp: TestApp;
  let alice: { id: string };
  beforeAll(async () => {
    testApp = await createTestApp(ADMIN_ENV);
    alice = await registerUser(testApp, 'alice');
  });
  afterAll(() => testApp.close());

  const { tokenRequest, login, refresh, me } = tokenClient(() => testApp);

  describe('RFC 6749 §6 with rotation (RFC 9700 §4.14.2)', () => {
    it('§5.1: answers 200 with a new access token and a new refresh token, never cached', async () => {
      const first = await login();

      const response = await refresh(first.refresh_token);

      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.headers.pragma).toBe('no-cache');
      expect(response.body).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 900,
        refresh_token: expect.stringMatching(REFRESH_TOKEN_PATTERN),
        scope: 'profile',
      });
      const body = response.body as TokenBody;
      expect(body.refresh_token).not.toBe(first.refresh_token);
      expect(body.access_token).not.toBe(first.access_token);
    });

    it('keeps the session: the new access token carries the same sid, subject and client', async () => {
      const first = await login();
      const second = (await refresh(first.refresh_token).expect(200))
        .body as TokenBody;

      const before = decodeJwt(first.access_token);
      const after = decodeJwt(second.access_token);
      expect(after).toMatchObject({
        sub: alice.id,
        client_id: 'public',
        scope: 'profile',
        sid: before.sid,
      });
      expect(after.jti).not.toBe(before.jti);
    });

    it('the new access token works at GET /users/me', async () => {
      const first = await login();
      const second = (await refresh(first.refresh_token).expect(200))
        .body as TokenBody;

      const response = await me(second.access_token).expect(200);
      expect(response.body).toMatchObject({ id: alice.id, username: 'alice' });
    });

    it('the new refresh token refreshes in turn, down a chain of rotations', async () => {
      let current = (await login()).refresh_token;
      const seen = new Set([current]);
      for (let i = 0; i < 3; i += 1) {
        const next = (await refresh(current).expect(200)).body as TokenBody;
        expect(seen.has(next.refresh_token)).toBe(false);
        seen.add(next.refresh_token);
        current = next.refresh_token;
        await me(next.access_token).expect(200);
      }
    });

    it('spends the presented refresh token: presenting it a second time answers invalid_grant', async () => {
      const first = await login();
      await refresh(first.refresh_token).expect(200);

      expectOAuthErrorWithPragma(
        await refresh(first.refresh_token),
        400,
        'invalid_grant',
      );
    });

    it('stores only a hash of the refresh token: no table holds the token text', async () => {
      const { refresh_token: refreshToken } = await login();
      const dataSource = testApp.app.get(DataSource);

      const rows = await dataSource.query<Record<string, unknown>[]>(
        'SELECT * FROM refresh_tokens',
      );
      expect(rows.length).toBeGreaterThan(0);
      expect(JSON.stringify(rows)).not.toContain(refreshToken);
      const stored = await dataSource
        .getRepository(RefreshToken)
        .findOneByOrFail({ tokenHash: hashSecret(refreshToken) });
      expect(stored.tokenHash).toMatch(/^[0-9a-f]{64}$/);
      expect(stored.spentAt).toBeNull();

      const sessions = await dataSource.query<Record<string, unknown>[]>(
        'SELECT * FROM sessions',
      );
      expect(JSON.stringify(sessions)).not.toContain(refreshToken);
    });
  });

  describe('RFC 9700 §4.14.2: reuse of a spent refresh token ends the family', () => {
    it('answers invalid_grant, and the successor refresh token and the family’s access tokens stop working', async () => {
      const first = await login();
      const second = (await refresh(first.refresh_token).expect(200))
        .body as TokenBody;
      await me(second.access_token).expect(200);

      // An attacker (or the client) replays the spent token.
      expectOAuthErrorWithPragma(
        await refresh(first.refresh_token),
        400,
        'invalid_grant',
      );

      expectOAuthErrorWithPragma(
        await refresh(second.refresh_token),
        400,
        'invalid_grant',
      );
      expectTokenRefused(await me(second.access_token));
      expectTokenRefused(await me(first.access_token));
    });

    it('leaves another session of the same user working', async () => {
      const victim = await login();
      const other = await login();
      await refresh(victim.refresh_token).expect(200);

      expectOAuthErrorWithPragma(
        await refresh(victim.refresh_token),
        400,
        'invalid_grant',
      );

      await me(other.access_token).expect(200);
      const rotated = (await refresh(other.refresh_token).expect(200))
        .body as TokenBody;
      await me(rotated.access_token).expect(200);
    });

    it('a concurrent race with one refresh token: exactly one of N=4 requests wins, the rest answer invalid_grant', async () => {
      const { refresh_token: refreshToken } = await login();

      const responses = await Promise.all(
        Array.from({ length: 4 }, () => refresh(refreshToken)),
      );

      const statuses = responses.map((response) => response.status).sort();
      expect(statuses).toEqual([200, 400, 400, 400]);
      for (const response of responses.filter((r) => r.status === 400)) {
        expectOAuthErrorWithPragma(response, 400, 'invalid_grant');
      }
    });

    it('a concurrent race counts as reuse: the winner’s successor is refused too, since the family ended', async () => {
      const { refresh_token: refreshToken } = await login();

      const responses = await Promise.all(
        Array.from({ length: 4 }, () => refresh(refreshToken)),
      );
      const winner = responses.find((response) => response.status === 200);
      expect(winner).toBeDefined();
      const won = winner!.body as TokenBody;

      expectOAuthErrorWithPragma(
        await refresh(won.refresh_token),
        400,
        'invalid_grant',
      );
      expectTokenRefused(await me(won.access_token));
    });
  });

  describe('RFC 6749 §6: scope', () => {
    it('narrows: a refresh may ask for fewer scopes than the login granted', async () => {
      const first = await login(ADMIN.username, ADMIN.password);
      expect(first.scope).toBe(ADMIN_SCOPE);

      const response = await refresh(first.refresh_token, {
        scope: 'profile',
      }).expect(200);

      const body = response.body as TokenBody;
      expect(body.scope).toBe('profile');
      expect(decodeJwt(body.access_token).scope).toBe('profile');
    });

    it('a refresh without scope after a narrowed one gets the scope originally granted', async () => {
      const first = await login(ADMIN.username, ADMIN.password);
      const narrowed = (
        await refresh(first.refresh_token, { scope: 'profile' }).expect(200)
      ).body as TokenBody;

      const response = await refresh(narrowed.refresh_token).expect(200);

      expect((response.body as TokenBody).scope).toBe(ADMIN_SCOPE);
    });

    it('answers invalid_scope for a scope not granted at login, and does not spend the refresh token', async () => {
      const first = await login(ADMIN.username, ADMIN.password, {
        scope: 'profile',
      });
      expect(first.scope).toBe('profile');

      expectOAuthErrorWithPragma(
        await refresh(first.refresh_token, { scope: 'profile users:read' }),
        400,
        'invalid_scope',
      );

      const response = await refresh(first.refresh_token).expect(200);
      expect((response.body as TokenBody).scope).toBe('profile');
    });

    it('RFC 9700 §4.14.2: a spent refresh token presented with a not-granted scope answers invalid_grant and ends the family', async () => {
      const first = await login();
      const second = (await refresh(first.refresh_token).expect(200))
        .body as TokenBody;

      expectOAuthErrorWithPragma(
        await refresh(first.refresh_token, { scope: 'users:read' }),
        400,
        'invalid_grant',
      );
      expectOAuthErrorWithPragma(
        await refresh(second.refresh_token),
        400,
        'invalid_grant',
      );
    });

    it('answers invalid_scope for a scope the user may not have at all', async () => {
      const first = await login();

      expectOAuthErrorWithPragma(
        await refresh(first.refresh_token, { scope: 'users:read' }),
        400,
        'invalid_scope',
      );
      await refresh(first.refresh_token).expect(200);
    });

    it('answers invalid_scope for an unknown scope', async () => {
      const first = await login();

      expectOAuthErrorWithPragma(
        await refresh(first.refresh_token, { scope: 'profile everything' }),
        400,
        'invalid_scope',
      );
      await refresh(first.refresh_token).expect(200);
    });
  });

  describe('§5.2 errors', () => {
    it('invalid_request without refresh_token', async () => {
      expectOAuthErrorWithPragma(
        await tokenRequest({ grant_type: 'refresh_token' }),
        400,
        'invalid_request',
      );
    });

    it.each([
      ['garbage', 'not-a-refresh-token'],
      ['a well-formed token never issued', 'A'.repeat(43)],
      ['an access token', 'ACCESS'],
    ])('invalid_grant for %s', async (_case, token) => {
      const presented =
        token === 'ACCESS' ? (await login()).access_token : token;
      expectOAuthErrorWithPragma(
        await refresh(presented),
        400,
        'invalid_grant',
      );
    });

    it('invalid_grant for the refresh token of a user deactivated after login', async () => {
      const olivia = await registerUser(testApp, 'olivia');
      const first = await login('olivia');
      await testApp.app
        .get(DataSource)
        .getRepository(User)
        .update({ id: olivia.id }, { isActive: false });

      expectOAuthErrorWithPragma(
        await refresh(first.refresh_token),
        400,
        'invalid_grant',
      );
    });

    it('invalid_grant for the refresh token of a deleted user', async () => {
      const dave = await registerUser(testApp, 'dave');
      const first = await login('dave');
      await testApp.app
        .get(DataSource)
        .getRepository(User)
        .delete({ id: dave.id });

      expectOAuthErrorWithPragma(
        await refresh(first.refresh_token),
        400,
        'invalid_grant',
      );
    });
  });

  describe('§6: a refresh token is bound to the client it was issued to', () => {
    let client: { id: string; clientSecret: string };
    beforeAll(async () => {
      const admin = await login(ADMIN.username, ADMIN.password);
      client = await createClientAs(testApp, admin.access_token, {
        name: 'mobile-app',
        allowedScopes: ['profile'],
        allowedGrantTypes: ['password', 'refresh_token'],
      });
    });

    it('invalid_grant for a public-client refresh token presented with another client’s credentials (Basic)', async () => {
      const first = await login();

      const response = await testApp
        .http()
        .post('/auth/token')
        .auth(client.id, client.clientSecret)
        .type('form')
        .send({
          grant_type: 'refresh_token',
          refresh_token: first.refresh_token,
        });

      expectOAuthErrorWithPragma(response, 400, 'invalid_grant');
      // The rightful client still holds a working token.
      await refresh(first.refresh_token).expect(200);
    });

    it('invalid_grant, not invalid_scope, for another client’s refresh token presented with a scope: the other client learns nothing', async () => {
      const first = await login();

      const response = await testApp
        .http()
        .post('/auth/token')
        .auth(client.id, client.clientSecret)
        .type('form')
        .send({
          grant_type: 'refresh_token',
          refresh_token: first.refresh_token,
          scope: 'users:read',
        });

      expectOAuthErrorWithPragma(response, 400, 'invalid_grant');
    });

    it('invalid_grant for a registered client’s refresh token presented by the public client', async () => {
      const issued = (
        await tokenRequest({
          grant_type: 'password',
          username: 'alice',
          password: GOOD_PASSWORD,
          client_id: client.id,
          client_secret: client.clientSecret,
        }).expect(200)
      ).body as TokenBody;
      expect(decodeJwt(issued.access_token).client_id).toBe(client.id);

      expectOAuthErrorWithPragma(
        await refresh(issued.refresh_token),
        400,
        'invalid_grant',
      );

      const own = await tokenRequest({
        grant_type: 'refresh_token',
        refresh_token: issued.refresh_token,
        client_id: client.id,
        client_secret: client.clientSecret,
      }).expect(200);
      expect(decodeJwt((own.body as TokenBody).access_token).client_id).toBe(
        client.id,
      );
    });
  });
});

describe('POST /auth/token grant_type=refresh_token expiry', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await createTestApp({ REFRESH_TOKEN_TTL: '300' });
    await registerUser(testApp, 'alice');
  });
  afterAll(() => testApp.close());

  const { login, refresh } = tokenClient(() => testApp);

  it('issues refresh tokens that expire after REFRESH_TOKEN_TTL', async () => {
    const started = Date.now();
    const { refresh_token: refreshToken } = await login();

    const stored = await testApp.app
      .get(DataSource)
      .getRepository(RefreshToken)
      .findOneByOrFail({ tokenHash: hashSecret(refreshToken) });
    const lifetime = stored.expiresAt.getTime() - started;
    expect(lifetime).toBeGreaterThan(295_000);
    expect(lifetime).toBeLessThanOrEqual(305_000);
  });

  it('RFC 6749 §6: answers invalid_grant for an expired refresh token', async () => {
    const { refresh_token: refreshToken } = await login();
    await testApp.app
      .get(DataSource)
      .getRepository(RefreshToken)
      .update(
        { tokenHash: hashSecret(refreshToken) },
        { expiresAt: new Date(Date.now() - 1_000) },
      );

    expectOAuthErrorWithPragma(
      await refresh(refreshToken),
      400,
      'invalid_grant',
    );
  });
});
