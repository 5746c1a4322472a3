import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Response } from 'supertest';
import { expectOAuthError, expectTokenRefused } from './utils/expectations.js';
import {
  ADMIN,
  ADMIN_ENV,
  createClientAs,
  GOOD_PASSWORD,
  registerUser,
  tokenClient,
} from './utils/flows.js';
import type { TokenBody } from './utils/flows.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp, TEST_PUBLIC_URL } from './utils/test-app.js';

/** RFC 7009 §2.2: 200 and nothing else, whatever became of the token. */
function expectRevocationAnswer(response: Response) {
  expect(response.status).toBe(200);
  expect(response.text).toBe('');
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.headers.pragma).toBe('no-cache');
}

describe('POST /auth/revoke (RFC 7009)', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await createTestApp(ADMIN_ENV);
    await registerUser(testApp, 'alice');
  });
  afterAll(() => testApp.close());

  const { tokenRequest, login, refresh, me } = tokenClient(() => testApp);
  const revoke = (form: Record<string, string>) =>
    testApp.http().post('/auth/revoke').type('form').send(form);

  describe('§2.1: revoking a refresh token', () => {
    it('answers 200 with an empty body; the refresh token no longer refreshes and the session’s access token is refused', async () => {
      const tokens = await login();
      await me(tokens.access_token).expect(200);

      expectRevocationAnswer(
        await revoke({
          token: tokens.refresh_token,
          token_type_hint: 'refresh_token',
        }),
      );

      expectOAuthError(
        await refresh(tokens.refresh_token),
        400,
        'invalid_grant',
      );
      expectTokenRefused(await me(tokens.access_token));
    });

    it('revokes without a token_type_hint', async () => {
      const tokens = await login();

      expectRevocationAnswer(await revoke({ token: tokens.refresh_token }));

      expectOAuthError(
        await refresh(tokens.refresh_token),
        400,
        'invalid_grant',
      );
    });

    it('§2.1: a wrong hint is only a hint: the refresh token is found and revoked anyway', async () => {
      const tokens = await login();

      expectRevocationAnswer(
        await revoke({
          token: tokens.refresh_token,
          token_type_hint: 'access_token',
        }),
      );

      expectOAuthError(
        await refresh(tokens.refresh_token),
        400,
        'invalid_grant',
      );
      expectTokenRefused(await me(tokens.access_token));
    });

    it('ends only that session: another login of the same user keeps working', async () => {
      const revoked = await login();
      const other = await login();

      expectRevocationAnswer(await revoke({ token: revoked.refresh_token }));

      await me(other.access_token).expect(200);
      await refresh(other.refresh_token).expect(200);
    });

    it('revokes the current token of a rotated family, and the access tokens issued along it', async () => {
      const first = await login();
      const second = (await refresh(first.refresh_token).expect(200))
        .body as TokenBody;

      expectRevocationAnswer(await revoke({ token: second.refresh_token }));

      expectOAuthError(
        await refresh(second.refresh_token),
        400,
        'invalid_grant',
      );
      expectTokenRefused(await me(second.access_token));
      expectTokenRefused(await me(first.access_token));
    });

    it('answers 200 again for a token already revoked', async () => {
      const tokens = await login();
      expectRevocationAnswer(await revoke({ token: tokens.refresh_token }));

      expectRevocationAnswer(await revoke({ token: tokens.refresh_token }));
    });
  });

  describe('§2.1: revoking an access token', () => {
    it('ends its session: the access token is refused and the refresh token no longer refreshes', async () => {
      const tokens = await login();
      await me(tokens.access_token).expect(200);

      expectRevocationAnswer(
        await revoke({
          token: tokens.access_token,
          token_type_hint: 'access_token',
        }),
      );

      expectTokenRefused(await me(tokens.access_token));
      expectOAuthError(
        await refresh(tokens.refresh_token),
        400,
        'invalid_grant',
      );
    });

    it('revokes with a refresh_token hint too (the hint is only a hint)', async () => {
      const tokens = await login();

      expectRevocationAnswer(
        await revoke({
          token: tokens.access_token,
          token_type_hint: 'refresh_token',
        }),
      );

      expectTokenRefused(await me(tokens.access_token));
    });

    it('ends only that session: another login of the same user keeps working', async () => {
      const revoked = await login();
      const other = await login();

      expectRevocationAnswer(await revoke({ token: revoked.access_token }));

      await me(other.access_token).expect(200);
    });
  });

  describe('§2.2: the same answer whether or not the token was known', () => {
    it.each([
      ['an unknown opaque token', 'A'.repeat(43)],
      ['garbage', 'not a token at all'],
      [
        'a JWT-looking string',
        'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl',
      ],
    ])('answers 200 with an empty body for %s', async (_case, token) => {
      expectRevocationAnswer(await revoke({ token }));
    });
  });

  describe('§2.2.1 errors', () => {
    it('400 invalid_request without token', async () => {
      expectOAuthError(await revoke({}), 400, 'invalid_request');
    });

    it('400 invalid_request for an empty token (RFC 6749 §3.1: empty is omitted)', async () => {
      expectOAuthError(await revoke({ token: '' }), 400, 'invalid_request');
    });

    it('400 invalid_request for a JSON body (§2.1: form-encoded)', async () => {
      const tokens = await login();
      const response = await testApp
        .http()
        .post('/auth/revoke')
        .send({ token: tokens.refresh_token });

      expectOAuthError(response, 400, 'invalid_request');
      await refresh(tokens.refresh_token).expect(200);
    });

    it('400 invalid_request for a token in the URL', async () => {
      const tokens = await login();
      const response = await testApp
        .http()
        .post(`/auth/revoke?token=${tokens.refresh_token}`)
        .type('form')
        .send({});

      expectOAuthError(response, 400, 'invalid_request');
      await refresh(tokens.refresh_token).expect(200);
    });

    it('401 invalid_client with a Basic challenge for unknown client credentials, and nothing revoked', async () => {
      const tokens = await login();
      const response = await testApp
        .http()
        .post('/auth/revoke')
        .auth('some-client', 'some-secret')
        .type('form')
        .send({ token: tokens.refresh_token });

      expectOAuthError(response, 401, 'invalid_client');
      expect(response.headers['www-authenticate']).toMatch(
        new RegExp(`^Basic realm="${TEST_PUBLIC_URL}"`),
      );
      await refresh(tokens.refresh_token).expect(200);
    });
  });

  describe('§2.1: a client revokes only its own tokens', () => {
    let client: { id: string; clientSecret: string };
    beforeAll(async () => {
      const admin = await login(ADMIN.username, ADMIN.password);
      client = await createClientAs(testApp, admin.access_token, {
        name: 'mobile-app',
        allowedScopes: ['profile'],
        allowedGrantTypes: ['password', 'refresh_token'],
      });
    });

    const clientLogin = async (): Promise<TokenBody> =>
      (
        await tokenRequest({
          grant_type: 'password',
          username: 'alice',
          password: GOOD_PASSWORD,
          client_id: client.id,
          client_secret: client.clientSecret,
        }).expect(200)
      ).body as TokenBody;

    it('a registered client revokes its own refresh token (client_secret_basic)', async () => {
      const tokens = await clientLogin();

      expectRevocationAnswer(
        await testApp
          .http()
          .post('/auth/revoke')
          .auth(client.id, client.clientSecret)
          .type('form')
          .send({ token: tokens.refresh_token }),
      );

      expectTokenRefused(await me(tokens.access_token));
    });

    it('the public client’s request to revoke a registered client’s tokens answers 200 and changes nothing', async () => {
      const tokens = await clientLogin();

      expectRevocationAnswer(await revoke({ token: tokens.refresh_token }));
      expectRevocationAnswer(await revoke({ token: tokens.access_token }));

      await me(tokens.access_token).expect(200);
      await tokenRequest({
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token,
        client_id: client.id,
        client_secret: client.clientSecret,
      }).expect(200);
    });

    it('a registered client’s request to revoke the public client’s tokens answers 200 and changes nothing', async () => {
      const tokens = await login();

      for (const token of [tokens.refresh_token, tokens.access_token]) {
        expectRevocationAnswer(
          await testApp
            .http()
            .post('/auth/revoke')
            .auth(client.id, client.clientSecret)
            .type('form')
            .send({ token }),
        );
      }

      await me(tokens.access_token).expect(200);
      await refresh(tokens.refresh_token).expect(200);
    });
  });
});
