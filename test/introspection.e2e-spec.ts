import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt, SignJWT } from 'jose';
import type { JWTPayload } from 'jose';
import type { KeyObject } from 'node:crypto';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { BASIC_CHALLENGE, expectOAuthErrorBody } from './utils/expectations.js';
import {
  ADMIN,
  ADMIN_ENV,
  ADMIN_SCOPE,
  createClientAs,
  GOOD_PASSWORD,
  passwordGrant,
  registerUser,
  tokenClient,
} from './utils/flows.js';
import type { CreatedClient, TokenBody } from './utils/flows.js';
import { now, readServiceKey } from './utils/tokens.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp, TEST_PUBLIC_URL } from './utils/test-app.js';

const REFRESH_TOKEN_TTL = 1_209_600;

describe('POST /auth/introspect (RFC 7662)', () => {
  let testApp: TestApp;
  let adminToken: string;
  /** The resource server asking: a registered client with no grants of its own. */
  let resourceServer: CreatedClient;
  /** A service with its own tokens (client_credentials). */
  let service: CreatedClient;
  let alice: { id: string };
  let serviceKey: { kid: string; privateKey: KeyObject };

  beforeAll(async () => {
    testApp = await createTestApp(ADMIN_ENV);
    adminToken = await passwordGrant(testApp, ADMIN.username, ADMIN.password);
    resourceServer = await createClient({
      name: 'resource-server',
      allowedScopes: [],
      allowedGrantTypes: [],
    });
    service = await createClient({
      name: 'directory-sync',
      allowedScopes: ['users:read'],
      allowedGrantTypes: ['client_credentials'],
    });
    alice = await registerUser(testApp, 'alice');
    serviceKey = await readServiceKey(testApp);
  });
  afterAll(() => testApp.close());

  const createClient = (body: Record<string, unknown>) =>
    createClientAs(testApp, adminToken, body);

  const { tokenRequest, login } = tokenClient(() => testApp);

  /** Introspection by the resource server (client_secret_basic). */
  const introspect = (form: Record<string, string>) =>
    testApp
      .http()
      .post('/auth/introspect')
      .auth(resourceServer.id, resourceServer.clientSecret)
      .type('form')
      .send(form);

  /** Introspection by another registered client (client_secret_basic). */
  const introspectAs = (client: CreatedClient, form: Record<string, string>) =>
    testApp
      .http()
      .post('/auth/introspect')
      .auth(client.id, client.clientSecret)
      .type('form')
      .send(form);

  /** A client_credentials token of the service. */
  const serviceToken = async () => {
    const issued = await testApp
      .http()
      .post('/auth/token')
      .auth(service.id, service.clientSecret)
      .type('form')
      .send({ grant_type: 'client_credentials' })
      .expect(200);
    return (issued.body as TokenBody).access_token;
  };

  /** §2.2: the answer for a token not valid now is `active: false` and nothing else. */
  const expectInactive = async (token: string) => {
    const response = await introspect({ token });
    expect({ status: response.status, body: response.body }).toEqual({
      status: 200,
      body: { active: false },
    });
  };

  /** RFC 6749 §5.2 error body, never cached. */
  const expectOAuthError = (
    response: Response,
    status: number,
    error: string,
  ) => {
    expectOAuthErrorBody(response, status, error);
    expect(response.headers['cache-control']).toBe('no-store');
  };

  /** The claims the service puts in alice's tokens, to forge variants of. */
  const signWithServiceKey = (claims: JWTPayload) =>
    new SignJWT({
      iss: TEST_PUBLIC_URL,
      aud: TEST_PUBLIC_URL,
      sub: alice.id,
      iat: now(),
      exp: now() + 900,
      jti: randomUUID(),
      client_id: 'public',
      scope: 'profile',
      ...claims,
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: serviceKey.kid })
      .sign(serviceKey.privateKey);

  describe('§2.1: the caller authenticates as a client', () => {
    it('answers 401 invalid_client with a Basic challenge without client authentication', async () => {
      const { access_token: token } = await login();

      const response = await testApp
        .http()
        .post('/auth/introspect')
        .type('form')
        .send({ token });

      expectOAuthError(response, 401, 'invalid_client');
      expect(response.headers['www-authenticate']).toBe(BASIC_CHALLENGE);
    });

    it('answers 401 invalid_client for a wrong client secret', async () => {
      const { access_token: token } = await login();

      const response = await testApp
        .http()
        .post('/auth/introspect')
        .auth(resourceServer.id, 'not-the-secret')
        .type('form')
        .send({ token });

      expectOAuthError(response, 401, 'invalid_client');
      expect(response.headers['www-authenticate']).toBe(BASIC_CHALLENGE);
    });

    it('does not take a user’s access token as client authentication', async () => {
      const { access_token: token } = await login();

      const response = await testApp
        .http()
        .post('/auth/introspect')
        .set('Authorization', `Bearer ${token}`)
        .type('form')
        .send({ token });

      expectOAuthError(response, 401, 'invalid_client');
    });

    it('accepts client_secret_post as well as client_secret_basic', async () => {
      const { access_token: token } = await login();

      const response = await testApp
        .http()
        .post('/auth/introspect')
        .type('form')
        .send({
          token,
          client_id: resourceServer.id,
          client_secret: resourceServer.clientSecret,
        })
        .expect(200);

      expect((response.body as { active: boolean }).active).toBe(true);
    });

    it('answers 400 invalid_request without a token parameter', async () => {
      expectOAuthError(await introspect({}), 400, 'invalid_request');
    });

    it('§2.1: answers 400 invalid_request for a JSON body (form-encoded only)', async () => {
      const response = await testApp
        .http()
        .post('/auth/introspect')
        .auth(resourceServer.id, resourceServer.clientSecret)
        .send({ token: 'x' });

      expectOAuthError(response, 400, 'invalid_request');
    });
  });

  describe('§2.2: an active token', () => {
    it('describes a live user access token, never cached', async () => {
      const { access_token: token } = await login();
      const claims = decodeJwt(token);

      const response = await introspect({ token }).expect(200);

      expect(response.body).toEqual({
        active: true,
        scope: 'profile',
        client_id: 'public',
        username: 'alice',
        token_type: 'Bearer',
        exp: claims.exp,
        iat: claims.iat,
        sub: alice.id,
        aud: TEST_PUBLIC_URL,
        iss: TEST_PUBLIC_URL,
        jti: claims.jti,
      });
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.headers['pragma']).toBe('no-cache');
    });

    it('describes a client’s own token (client_credentials) without a username', async () => {
      const issued = await testApp
        .http()
        .post('/auth/token')
        .auth(service.id, service.clientSecret)
        .type('form')
        .send({ grant_type: 'client_credentials' })
        .expect(200);
      const token = (issued.body as TokenBody).access_token;
      const claims = decodeJwt(token);

      const response = await introspect({ token }).expect(200);

      expect(response.body).toEqual({
        active: true,
        scope: 'users:read',
        client_id: service.id,
        token_type: 'Bearer',
        exp: claims.exp,
        iat: claims.iat,
        sub: service.id,
        aud: TEST_PUBLIC_URL,
        iss: TEST_PUBLIC_URL,
        jti: claims.jti,
      });
    });

    it('describes a client’s own token to that client too, scopes as the client may have them', async () => {
      const token = await serviceToken();
      const claims = decodeJwt(token);

      const response = await introspectAs(service, { token }).expect(200);

      expect(response.body).toEqual({
        active: true,
        scope: 'users:read',
        client_id: service.id,
        token_type: 'Bearer',
        exp: claims.exp,
        iat: claims.iat,
        sub: service.id,
        aud: TEST_PUBLIC_URL,
        iss: TEST_PUBLIC_URL,
        jti: claims.jti,
      });
      // A token naming a scope the client does not have (forged with the service key) reports only the allowed one.
      const widened = await signWithServiceKey({
        sub: service.id,
        client_id: service.id,
        scope: 'users:read admin',
      });
      const narrowed = await introspectAs(service, { token: widened }).expect(
        200,
      );
      expect((narrowed.body as { scope: string }).scope).toBe('users:read');
    });

    it('describes a live refresh token with its user, client and scope', async () => {
      const { refresh_token: token } = await login();

      const response = await introspect({ token }).expect(200);

      expect(response.body).toEqual({
        active: true,
        scope: 'profile',
        client_id: 'public',
        username: 'alice',
        exp: expect.any(Number),
        iat: expect.any(Number),
        sub: alice.id,
      });
      const { exp, iat } = response.body as { exp: number; iat: number };
      expect(Math.abs(iat - now())).toBeLessThanOrEqual(5);
      expect(Math.abs(exp - (now() + REFRESH_TOKEN_TTL))).toBeLessThanOrEqual(
        5,
      );
    });

    it('§2.1: treats token_type_hint as a hint only', async () => {
      const { access_token: access, refresh_token: refresh } = await login();

      for (const [token, hint] of [
        [access, 'refresh_token'],
        [refresh, 'access_token'],
        [access, 'something_else'],
      ]) {
        const response = await introspect({
          token,
          token_type_hint: hint,
        }).expect(200);
        expect((response.body as { active: boolean }).active).toBe(true);
      }
    });

    it('reports the scope the holder may still use: an admin demoted keeps only profile', async () => {
      const dana = await registerUser(testApp, 'dana');
      await testApp
        .http()
        .patch(`/users/${dana.id}`)
        .set('Authorization', `Bearer ${adminToken}`)
        .send({ roles: ['user', 'admin'] })
        .expect(200);
      const { access_token: token, refresh_token: refresh } =
        await login('dana');
      expect(decodeJwt(token).scope).toBe(ADMIN_SCOPE);

      await testApp
        .http()
        .patch(`/users/${dana.id}`)
        .set('Authorization', `Bearer ${adminToken}`)
        .send({ roles: ['user'] })
        .expect(200);

      const access = await introspect({ token }).expect(200);
      expect((access.body as { scope: string }).scope).toBe('profile');
      const refreshed = await introspect({ token: refresh }).expect(200);
      expect((refreshed.body as { scope: string }).scope).toBe('profile');
    });
  });

  describe('§2.2: { active: false } for anything not valid now', () => {
    it('an expired access token signed with the service key', async () => {
      const expired = await signWithServiceKey({
        iat: now() - 1000,
        exp: now() - 100,
      });
      await expectInactive(expired);
    });

    it('an access token whose session was revoked (RFC 7009), and its refresh token', async () => {
      const { access_token: access, refresh_token: refresh } = await login();
      await testApp
        .http()
        .post('/auth/revoke')
        .type('form')
        .send({ token: refresh })
        .expect(200);

      await expectInactive(access);
      await expectInactive(refresh);
    });

    it('the tokens of a user deactivated by an administrator', async () => {
      const erin = await registerUser(testApp, 'erin');
      const { access_token: access, refresh_token: refresh } =
        await login('erin');
      await testApp
        .http()
        .patch(`/users/${erin.id}`)
        .set('Authorization', `Bearer ${adminToken}`)
        .send({ isActive: false })
        .expect(200);

      await expectInactive(access);
      await expectInactive(refresh);
    });

    it('the tokens of a deleted user', async () => {
      const frank = await registerUser(testApp, 'frank');
      const { access_token: access, refresh_token: refresh } =
        await login('frank');
      await testApp
        .http()
        .delete(`/users/${frank.id}`)
        .set('Authorization', `Bearer ${adminToken}`)
        .expect(204);

      await expectInactive(access);
      await expectInactive(refresh);
    });

    it('a token of a deleted client', async () => {
      const doomed = await createClient({
        name: 'doomed',
        allowedScopes: ['users:read'],
        allowedGrantTypes: ['client_credentials'],
      });
      const issued = await testApp
        .http()
        .post('/auth/token')
        .auth(doomed.id, doomed.clientSecret)
        .type('form')
        .send({ grant_type: 'client_credentials' })
        .expect(200);
      await testApp
        .http()
        .delete(`/clients/${doomed.id}`)
        .set('Authorization', `Bearer ${adminToken}`)
        .expect(204);

      await expectInactive((issued.body as TokenBody).access_token);
    });

    it('a client’s own token lacking exp or iat, or issued in the future, asked about by that client', async () => {
      const ownClaims = { sub: service.id, client_id: service.id };
      const tokens = await Promise.all([
        signWithServiceKey({ ...ownClaims, exp: undefined }),
        signWithServiceKey({ ...ownClaims, iat: undefined }),
        signWithServiceKey({ ...ownClaims, iat: now() + 3600 }),
      ]);
      for (const token of tokens) {
        const response = await introspectAs(service, { token });
        expect({ status: response.status, body: response.body }).toEqual({
          status: 200,
          body: { active: false },
        });
      }
    });

    it('a string that is no token at all', async () => {
      await expectInactive('garbage');
      await expectInactive('a.b.c');
    });

    it('a token with the right claims signed by another key', async () => {
      const forged = await new SignJWT({
        iss: TEST_PUBLIC_URL,
        aud: TEST_PUBLIC_URL,
        sub: alice.id,
        client_id: 'public',
        scope: 'profile',
        jti: randomUUID(),
      })
        .setProtectedHeader({
          alg: 'RS256',
          typ: 'at+jwt',
          kid: serviceKey.kid,
        })
        .setIssuedAt()
        .setExpirationTime('15m')
        .sign(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);

      await expectInactive(forged);
    });

    it('a spent refresh token, without counting the look-up as reuse', async () => {
      const { refresh_token: spent } = await login();
      const rotated = await tokenRequest({
        grant_type: 'refresh_token',
        refresh_token: spent,
      }).expect(200);
      const successor = (rotated.body as TokenBody).refresh_token;

      await expectInactive(spent);

      // RFC 9700 §4.14.2: only presenting a spent token to the token endpoint ends the family.
      const response = await introspect({ token: successor }).expect(200);
      expect((response.body as { active: boolean }).active).toBe(true);
      await tokenRequest({
        grant_type: 'refresh_token',
        refresh_token: successor,
      }).expect(200);
    });

    it('an access token of a user whose password changed', async () => {
      await registerUser(testApp, 'gina');
      const { access_token: access, refresh_token: refresh } =
        await login('gina');
      await testApp
        .http()
        .put('/users/me/password')
        .set('Authorization', `Bearer ${access}`)
        .send({
          currentPassword: GOOD_PASSWORD,
          newPassword: 'another long passphrase here',
        })
        .expect(204);

      await expectInactive(access);
      await expectInactive(refresh);
    });
  });
});
