import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { createHash } from 'node:crypto';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import {
  BASIC_CHALLENGE,
  BEARER_PREFIX,
  expectInvalidToken,
  expectOAuthErrorBody,
  expectProblem,
} from './utils/expectations.js';
import {
  ADMIN,
  ADMIN_ENV,
  createClientAs,
  GOOD_PASSWORD,
  passwordGrant,
  registerUser,
} from './utils/flows.js';
import type { CreatedClient } from './utils/flows.js';
import { now } from './utils/tokens.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp, TEST_PUBLIC_URL } from './utils/test-app.js';

const CLIENT_ID_PATTERN = /^svc_[A-Za-z0-9_-]{16}$/;

describe('service clients', () => {
  let testApp: TestApp;
  let adminToken: string;
  let userToken: string;

  beforeAll(async () => {
    testApp = await createTestApp(ADMIN_ENV);
    adminToken = await passwordGrant(testApp, ADMIN.username, ADMIN.password);
    await registerUser(testApp, 'alice');
    userToken = await passwordGrant(testApp, 'alice');
  });
  afterAll(() => testApp.close());

  const bearer = (token: string) => `Bearer ${token}`;

  const createClient = (
    body: Record<string, unknown> = {},
  ): Promise<CreatedClient> =>
    createClientAs(testApp, adminToken, {
      name: 'billing-service',
      allowedScopes: ['users:read'],
      allowedGrantTypes: ['client_credentials'],
      ...body,
    });

  const tokenRequest = () => testApp.http().post('/auth/token').type('form');

  const clientToken = async (
    client: CreatedClient,
    form: Record<string, string> = {},
  ): Promise<string> => {
    const response = await tokenRequest()
      .auth(client.id, client.clientSecret)
      .send({ grant_type: 'client_credentials', ...form })
      .expect(200);
    return (response.body as { access_token: string }).access_token;
  };

  const fieldsOf = (body: { errors: { field: string }[] }) =>
    [...new Set(body.errors.map((error) => error.field))].sort();

  /** RFC 6749 §5.2 error body, never cached. */
  const expectOAuthError = (
    response: Response,
    status: number,
    error: string,
  ) => {
    expectOAuthErrorBody(response, status, error);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['pragma']).toBe('no-cache');
  };

  const expectInvalidClient = (response: Response) => {
    expectOAuthError(response, 401, 'invalid_client');
    expect(response.headers['www-authenticate']).toBe(BASIC_CHALLENGE);
  };

  describe('POST /clients', () => {
    it('registers a client and answers 201 with its secret, shown this once', async () => {
      const response = await testApp
        .http()
        .post('/clients')
        .set('Authorization', bearer(adminToken))
        .send({
          name: 'reporting-service',
          allowedScopes: ['users:read', 'profile'],
          allowedGrantTypes: ['client_credentials', 'password'],
        })
        .expect(201);

      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.body).toEqual({
        id: expect.stringMatching(CLIENT_ID_PATTERN),
        name: 'reporting-service',
        allowedScopes: ['users:read', 'profile'],
        allowedGrantTypes: ['client_credentials', 'password'],
        tokenEndpointAuthMethod: 'client_secret_basic',
        dpopBoundAccessTokens: false,
        clientType: 'confidential',
        redirectUris: [],
        firstParty: false,
        createdAt: expect.any(String),
        clientSecret: expect.any(String),
      });
      const body = response.body as CreatedClient;
      expect(new Date(body.createdAt).toISOString()).toBe(body.createdAt);
      expect(body.clientSecret.length).toBeGreaterThanOrEqual(32);
    });

    it('RFC 6749 §5.1: answers the secret with Cache-Control: no-store and Pragma: no-cache', async () => {
      const response = await testApp
        .http()
        .post('/clients')
        .set('Authorization', bearer(adminToken))
        .send({
          name: 'cache-test',
          allowedScopes: [],
          allowedGrantTypes: ['client_credentials'],
        })
        .expect(201);

      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.headers['pragma']).toBe('no-cache');
    });

    it('gives every client its own id and secret', async () => {
      const first = await createClient();
      const second = await createClient();

      expect(first.id).not.toBe(second.id);
      expect(first.clientSecret).not.toBe(second.clientSecret);
    });

    it('accepts a client with no scopes and no grants (an introspection-only caller)', async () => {
      const client = await createClient({
        allowedScopes: [],
        allowedGrantTypes: [],
      });

      expect(client.allowedScopes).toEqual([]);
      expect(client.allowedGrantTypes).toEqual([]);
    });

    it('answers 401 with a Bearer challenge without an access token', async () => {
      const response = await testApp
        .http()
        .post('/clients')
        .send({
          name: 'x',
          allowedScopes: [],
          allowedGrantTypes: ['client_credentials'],
        });

      expectProblem(response, 401, '/clients');
      expect(response.headers['www-authenticate']).toBe(BEARER_PREFIX);
    });

    it('RFC 6750 §3.1: answers 403 insufficient_scope for a user without clients:write', async () => {
      const response = await testApp
        .http()
        .post('/clients')
        .set('Authorization', bearer(userToken))
        .send({
          name: 'x',
          allowedScopes: [],
          allowedGrantTypes: ['client_credentials'],
        });

      expectProblem(response, 403, '/clients');
      expect(response.headers['www-authenticate']).toBe(
        `${BEARER_PREFIX}, error="insufficient_scope", scope="clients:write"`,
      );
    });

    it('RFC 6750 §3.1: answers 403 for an admin token narrowed to other scopes', async () => {
      const narrowed = await passwordGrant(
        testApp,
        ADMIN.username,
        ADMIN.password,
        { scope: 'users:read users:write' },
      );
      const response = await testApp
        .http()
        .post('/clients')
        .set('Authorization', bearer(narrowed))
        .send({
          name: 'x',
          allowedScopes: [],
          allowedGrantTypes: ['client_credentials'],
        });

      expectProblem(response, 403, '/clients');
      expect(response.headers['www-authenticate']).toBe(
        `${BEARER_PREFIX}, error="insufficient_scope", scope="clients:write"`,
      );
    });

    describe('grants no more than the creator holds', () => {
      /** The clients stored now, by name. */
      const storedNames = async () =>
        (
          (
            await testApp
              .http()
              .get('/clients')
              .set('Authorization', bearer(adminToken))
              .expect(200)
          ).body as { name: string }[]
        ).map(({ name }) => name);

      const createAs = (token: string, name: string, allowedScopes: string[]) =>
        testApp
          .http()
          .post('/clients')
          .set('Authorization', bearer(token))
          .send({
            name,
            allowedScopes,
            allowedGrantTypes: ['client_credentials'],
          });

      it("answers 403 to a client's token with clients:write asking for users:write, and creates nothing", async () => {
        const registrar = await createClient({
          name: 'registrar',
          allowedScopes: ['clients:write'],
        });
        const token = await clientToken(registrar);

        const response = await createAs(token, 'escalated', ['users:write']);

        expectProblem(response, 403, '/clients');
        expect(response.body.detail).toBe(
          'A client cannot be given scopes your token does not have: users:write.',
        );
        expect(response.headers['www-authenticate']).toBeUndefined();
        expect(await storedNames()).not.toContain('escalated');
      });

      it("answers 403 to a client's token asking for clients:write, which it holds: only an admin may hand it on", async () => {
        const registrar = await createClient({
          name: 'registrar-2',
          allowedScopes: ['clients:write', 'users:read'],
        });
        const token = await clientToken(registrar);

        const response = await createAs(token, 'offspring', ['clients:write']);

        expectProblem(response, 403, '/clients');
        expect(response.body.detail).toBe(
          "Only an admin's own access token may create a client with clients:write, not a client's.",
        );
        expect(await storedNames()).not.toContain('offspring');
        // Within its own scopes, and without clients:write, it still may.
        await createAs(token, 'reader', ['users:read']).expect(201);
      });

      it('answers 403 to an admin token narrowed to clients:write asking for users:write', async () => {
        const narrowed = await passwordGrant(
          testApp,
          ADMIN.username,
          ADMIN.password,
          { scope: 'clients:write' },
        );

        const response = await createAs(narrowed, 'too-wide', [
          'users:write',
          'audit:read',
        ]);

        expectProblem(response, 403, '/clients');
        expect(response.body.detail).toBe(
          'A client cannot be given scopes your token does not have: users:write, audit:read.',
        );
        expect(await storedNames()).not.toContain('too-wide');
      });

      it("lets an admin's own token create a client with users:write and clients:write", async () => {
        const response = await createAs(adminToken, 'trusted-admin-tool', [
          'users:write',
          'clients:write',
        ]).expect(201);

        expect(response.body).toMatchObject({
          name: 'trusted-admin-tool',
          allowedScopes: ['users:write', 'clients:write'],
        });
      });
    });

    describe('rejects invalid bodies with 400 problem details naming each field', () => {
      const invalid = (body: Record<string, unknown>) =>
        testApp
          .http()
          .post('/clients')
          .set('Authorization', bearer(adminToken))
          .send(body);

      it('an unknown scope', async () => {
        const response = await invalid({
          name: 'x',
          allowedScopes: ['users:read', 'admin:everything'],
          allowedGrantTypes: ['client_credentials'],
        });
        expectProblem(response, 400, '/clients');
        expect(fieldsOf(response.body)).toEqual(['allowedScopes']);
      });

      it('an unknown grant type', async () => {
        const response = await invalid({
          name: 'x',
          allowedScopes: [],
          allowedGrantTypes: ['implicit'],
        });
        expectProblem(response, 400, '/clients');
        expect(fieldsOf(response.body)).toEqual(['allowedGrantTypes']);
      });

      it('missing fields', async () => {
        const response = await invalid({});
        expectProblem(response, 400, '/clients');
        expect(fieldsOf(response.body)).toEqual([
          'allowedGrantTypes',
          'allowedScopes',
          'name',
        ]);
      });

      it('an empty or over-long name', async () => {
        for (const name of ['', 'x'.repeat(101)]) {
          const response = await invalid({
            name,
            allowedScopes: [],
            allowedGrantTypes: [],
          });
          expectProblem(response, 400, '/clients');
          expect(fieldsOf(response.body)).toEqual(['name']);
        }
      });

      it('a name with a control character (a NUL fails a PostgreSQL statement; a newline forges a log line)', async () => {
        for (const name of [
          'billing\u0000',
          'billing\nadmin',
          'bill\u0085ing',
        ]) {
          const response = await invalid({
            name,
            allowedScopes: [],
            allowedGrantTypes: [],
          });
          expectProblem(response, 400, '/clients');
          expect(fieldsOf(response.body)).toEqual(['name']);
        }
      });

      it('a secret or id chosen by the caller: unknown fields are refused', async () => {
        const response = await invalid({
          name: 'x',
          allowedScopes: [],
          allowedGrantTypes: [],
          id: 'svc_mine',
          clientSecret: 'chosen',
        });
        expectProblem(response, 400, '/clients');
        expect(fieldsOf(response.body)).toEqual(['clientSecret', 'id']);
      });
    });
  });

  describe('GET /clients', () => {
    it('lists the clients without any secret', async () => {
      const created = await createClient({ name: 'listed-service' });

      const response = await testApp
        .http()
        .get('/clients')
        .set('Authorization', bearer(adminToken))
        .expect(200);

      const list = response.body as Record<string, unknown>[];
      expect(list).toContainEqual({
        id: created.id,
        name: 'listed-service',
        allowedScopes: ['users:read'],
        allowedGrantTypes: ['client_credentials'],
        tokenEndpointAuthMethod: 'client_secret_basic',
        dpopBoundAccessTokens: false,
        clientType: 'confidential',
        redirectUris: [],
        firstParty: false,
        createdAt: created.createdAt,
      });
      for (const client of list) {
        expect(Object.keys(client).sort()).toEqual([
          'allowedGrantTypes',
          'allowedScopes',
          'clientType',
          'createdAt',
          'dpopBoundAccessTokens',
          'firstParty',
          'id',
          'name',
          'redirectUris',
          'tokenEndpointAuthMethod',
        ]);
      }
      expect(JSON.stringify(response.body)).not.toContain(created.clientSecret);
    });

    it('answers 401 without a token and 403 for a user token', async () => {
      const anonymous = await testApp.http().get('/clients');
      expectProblem(anonymous, 401, '/clients');
      expect(anonymous.headers['www-authenticate']).toBe(BEARER_PREFIX);

      const user = await testApp
        .http()
        .get('/clients')
        .set('Authorization', bearer(userToken));
      expectProblem(user, 403, '/clients');
      expect(user.headers['www-authenticate']).toBe(
        `${BEARER_PREFIX}, error="insufficient_scope", scope="clients:write"`,
      );
    });
  });

  describe('DELETE /clients/{id}', () => {
    it('answers 204 with no body and removes the client from the list', async () => {
      const client = await createClient();

      const response = await testApp
        .http()
        .delete(`/clients/${client.id}`)
        .set('Authorization', bearer(adminToken))
        .expect(204);
      expect(response.text).toBe('');

      const list = await testApp
        .http()
        .get('/clients')
        .set('Authorization', bearer(adminToken))
        .expect(200);
      expect(
        (list.body as { id: string }[]).map((listed) => listed.id),
      ).not.toContain(client.id);
    });

    it('answers 404 for an unknown client, and for one already deleted', async () => {
      expectProblem(
        await testApp
          .http()
          .delete('/clients/svc_doesNotExist00000')
          .set('Authorization', bearer(adminToken)),
        404,
        '/clients/svc_doesNotExist00000',
      );

      const client = await createClient();
      await testApp
        .http()
        .delete(`/clients/${client.id}`)
        .set('Authorization', bearer(adminToken))
        .expect(204);
      expectProblem(
        await testApp
          .http()
          .delete(`/clients/${client.id}`)
          .set('Authorization', bearer(adminToken)),
        404,
        `/clients/${client.id}`,
      );
    });

    it('answers 401 without a token and 403 for a user token, and keeps the client', async () => {
      const client = await createClient();

      const anonymous = await testApp.http().delete(`/clients/${client.id}`);
      expectProblem(anonymous, 401, `/clients/${client.id}`);
      const user = await testApp
        .http()
        .delete(`/clients/${client.id}`)
        .set('Authorization', bearer(userToken));
      expectProblem(user, 403, `/clients/${client.id}`);

      await clientToken(client);
    });

    it('ends the client: its secret no longer authenticates and its own tokens stop working', async () => {
      const client = await createClient();
      const token = await clientToken(client);
      await testApp
        .http()
        .get('/users')
        .set('Authorization', bearer(token))
        .expect(200);

      await testApp
        .http()
        .delete(`/clients/${client.id}`)
        .set('Authorization', bearer(adminToken))
        .expect(204);

      expectInvalidToken(
        await testApp.http().get('/users').set('Authorization', bearer(token)),
        '/users',
      );
      expectInvalidClient(
        await tokenRequest()
          .auth(client.id, client.clientSecret)
          .send({ grant_type: 'client_credentials' }),
      );
    });

    it('takes effect at once when another instance changes or removes the client in the shared database', async () => {
      const client = await createClient();
      const token = await clientToken(client);
      const resourceServer = await createClient({
        allowedScopes: [],
        allowedGrantTypes: [],
      });
      const introspect = async () =>
        (
          await testApp
            .http()
            .post('/auth/introspect')
            .type('form')
            .auth(resourceServer.id, resourceServer.clientSecret)
            .send({ token })
            .expect(200)
        ).body as { active: boolean };
      expect(await introspect()).toMatchObject({ active: true });
      const clients = testApp.app.get(DataSource).getRepository('clients');

      // A secret this instance never saw replaces the one it has just verified.
      await clients.update(
        { id: client.id },
        { secretHash: createHash('sha256').update('rotated').digest('hex') },
      );
      expectInvalidClient(
        await tokenRequest()
          .auth(client.id, client.clientSecret)
          .send({ grant_type: 'client_credentials' }),
      );
      await tokenRequest()
        .auth(client.id, 'rotated')
        .send({ grant_type: 'client_credentials' })
        .expect(200);

      await clients.delete({ id: client.id });
      expectInvalidClient(
        await tokenRequest()
          .auth(client.id, 'rotated')
          .send({ grant_type: 'client_credentials' }),
      );
      expect(await introspect()).toEqual({ active: false });
      expectInvalidToken(
        await testApp.http().get('/users').set('Authorization', bearer(token)),
        '/users',
      );
    });

    it('ends the sessions users started through the client: their access and refresh tokens stop working', async () => {
      const client = await createClient({
        allowedScopes: ['profile'],
        allowedGrantTypes: ['password', 'refresh_token'],
      });
      const login = await tokenRequest()
        .auth(client.id, client.clientSecret)
        .send({
          grant_type: 'password',
          username: 'alice',
          password: GOOD_PASSWORD,
        })
        .expect(200);
      const { access_token: accessToken, refresh_token: refreshToken } =
        login.body as { access_token: string; refresh_token: string };
      expect(decodeJwt(accessToken).client_id).toBe(client.id);
      await testApp
        .http()
        .get('/users/me')
        .set('Authorization', bearer(accessToken))
        .expect(200);

      await testApp
        .http()
        .delete(`/clients/${client.id}`)
        .set('Authorization', bearer(adminToken))
        .expect(204);

      expectInvalidToken(
        await testApp
          .http()
          .get('/users/me')
          .set('Authorization', bearer(accessToken)),
        '/users/me',
      );
      // The client is gone, so presenting its credentials fails first.
      expectInvalidClient(
        await tokenRequest()
          .auth(client.id, client.clientSecret)
          .send({ grant_type: 'refresh_token', refresh_token: refreshToken }),
      );
      // Without the client, the refresh token is another client's: invalid_grant.
      expectOAuthError(
        await tokenRequest().send({
          grant_type: 'refresh_token',
          refresh_token: refreshToken,
        }),
        400,
        'invalid_grant',
      );
      // alice's own public-client login is untouched.
      await testApp
        .http()
        .get('/users/me')
        .set('Authorization', bearer(userToken))
        .expect(200);
    });
    it('deletes the client and ends its sessions in one step: when ending them fails, the client and its sessions both stay', async () => {
      const client = await createClient({
        allowedScopes: ['profile'],
        allowedGrantTypes: ['password', 'refresh_token'],
      });
      const login = await tokenRequest()
        .auth(client.id, client.clientSecret)
        .send({
          grant_type: 'password',
          username: 'alice',
          password: GOOD_PASSWORD,
        })
        .expect(200);
      const { refresh_token: refreshToken } = login.body as {
        refresh_token: string;
      };
      // The database refuses to end any session, as if the process died between the two steps.
      const refusal = refuseSessionEnds(testApp.app.get(DataSource));
      await refusal.install();
      try {
        await testApp
          .http()
          .delete(`/clients/${client.id}`)
          .set('Authorization', bearer(adminToken))
          .expect(500);
      } finally {
        await refusal.remove();
      }

      // Nothing half done: the client is still registered...
      const listed = await testApp
        .http()
        .get('/clients')
        .set('Authorization', bearer(adminToken))
        .expect(200);
      expect((listed.body as { id: string }[]).map(({ id }) => id)).toContain(
        client.id,
      );
      // ...and the session started through it is still live.
      await tokenRequest()
        .auth(client.id, client.clientSecret)
        .send({ grant_type: 'refresh_token', refresh_token: refreshToken })
        .expect(200);
    });
  });

  describe('grant_type=client_credentials (RFC 6749 §4.4)', () => {
    let client: CreatedClient;
    beforeAll(async () => {
      client = await createClient({
        name: 'directory-sync',
        allowedScopes: ['users:read', 'profile'],
        allowedGrantTypes: ['client_credentials'],
      });
    });

    it('§4.4.3: answers 200 with a Bearer token and no refresh token, never cached (client_secret_basic)', async () => {
      const response = await tokenRequest()
        .auth(client.id, client.clientSecret)
        .send({ grant_type: 'client_credentials' })
        .expect(200);

      expect(response.body).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 900,
        scope: 'users:read profile',
      });
      expect(response.body).not.toHaveProperty('refresh_token');
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.headers['pragma']).toBe('no-cache');
    });

    it('§2.3.1: authenticates with client_id and client_secret in the body (client_secret_post)', async () => {
      const response = await tokenRequest()
        .send({
          grant_type: 'client_credentials',
          client_id: client.id,
          client_secret: client.clientSecret,
        })
        .expect(200);

      expect(response.body).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 900,
        scope: 'users:read profile',
      });
    });

    it('RFC 9068 §2.2: the token names the client as sub and client_id, with no session', async () => {
      const token = await clientToken(client);

      expect(decodeProtectedHeader(token)).toEqual({
        alg: 'RS256',
        typ: 'at+jwt',
        kid: expect.any(String),
      });
      const claims = decodeJwt(token);
      expect(claims).toEqual({
        iss: TEST_PUBLIC_URL,
        aud: TEST_PUBLIC_URL,
        sub: client.id,
        client_id: client.id,
        scope: 'users:read profile',
        iat: expect.any(Number),
        exp: expect.any(Number),
        jti: expect.any(String),
      });
      expect(claims).not.toHaveProperty('sid');
      expect(Math.abs((claims.iat as number) - now())).toBeLessThanOrEqual(5);
      expect((claims.exp as number) - (claims.iat as number)).toBe(900);
    });

    it('§3.3: grants a narrower scope when asked', async () => {
      const response = await tokenRequest()
        .auth(client.id, client.clientSecret)
        .send({ grant_type: 'client_credentials', scope: 'users:read' })
        .expect(200);

      expect((response.body as { scope: string }).scope).toBe('users:read');
      expect(
        decodeJwt((response.body as { access_token: string }).access_token)
          .scope,
      ).toBe('users:read');
    });

    it('§2.3.1: decodes form-encoded credentials in HTTP Basic', async () => {
      const basic = Buffer.from(
        `${encodeURIComponent(client.id)}:${encodeURIComponent(client.clientSecret)}`,
      ).toString('base64');
      await tokenRequest()
        .set('Authorization', `Basic ${basic}`)
        .send({ grant_type: 'client_credentials' })
        .expect(200);
    });

    describe('§5.2 errors', () => {
      it('401 invalid_client with a Basic challenge for a wrong secret', async () => {
        expectInvalidClient(
          await tokenRequest()
            .auth(client.id, `${client.clientSecret}x`)
            .send({ grant_type: 'client_credentials' }),
        );
      });

      it('401 invalid_client for a wrong secret in the body', async () => {
        expectInvalidClient(
          await tokenRequest().send({
            grant_type: 'client_credentials',
            client_id: client.id,
            client_secret: 'wrong',
          }),
        );
      });

      it('401 invalid_client for an unknown client', async () => {
        expectInvalidClient(
          await tokenRequest()
            .auth('svc_unknownClient0000', client.clientSecret)
            .send({ grant_type: 'client_credentials' }),
        );
      });

      it('401 invalid_client for a client_id without a secret', async () => {
        expectInvalidClient(
          await tokenRequest().send({
            grant_type: 'client_credentials',
            client_id: client.id,
          }),
        );
      });

      it('401 invalid_client without any client authentication (public clients may not use it)', async () => {
        expectInvalidClient(
          await tokenRequest().send({ grant_type: 'client_credentials' }),
        );
      });

      it('400 invalid_request when the client uses two authentication methods at once', async () => {
        expectOAuthError(
          await tokenRequest().auth(client.id, client.clientSecret).send({
            grant_type: 'client_credentials',
            client_id: client.id,
            client_secret: client.clientSecret,
          }),
          400,
          'invalid_request',
        );
      });

      it('400 unauthorized_client for a client not registered for client_credentials', async () => {
        const passwordOnly = await createClient({
          allowedScopes: ['profile'],
          allowedGrantTypes: ['password'],
        });
        expectOAuthError(
          await tokenRequest()
            .auth(passwordOnly.id, passwordOnly.clientSecret)
            .send({ grant_type: 'client_credentials' }),
          400,
          'unauthorized_client',
        );
      });

      it('400 invalid_scope for a scope outside the client’s allowed scopes', async () => {
        expectOAuthError(
          await tokenRequest()
            .auth(client.id, client.clientSecret)
            .send({ grant_type: 'client_credentials', scope: 'users:write' }),
          400,
          'invalid_scope',
        );
      });

      it('400 invalid_scope for an unknown scope', async () => {
        expectOAuthError(
          await tokenRequest().auth(client.id, client.clientSecret).send({
            grant_type: 'client_credentials',
            scope: 'users:read openid',
          }),
          400,
          'invalid_scope',
        );
      });
    });

    describe('the client’s own token on the resource routes', () => {
      it('may call GET /users with users:read', async () => {
        const token = await clientToken(client, { scope: 'users:read' });

        const response = await testApp
          .http()
          .get('/users')
          .set('Authorization', bearer(token))
          .expect(200);
        expect(response.body).toEqual({
          items: expect.any(Array),
          total: expect.any(Number),
          page: 1,
          limit: 20,
        });
      });

      it('answers 403 on GET /users/me, which needs a user, even with the profile scope', async () => {
        const token = await clientToken(client);

        expectProblem(
          await testApp
            .http()
            .get('/users/me')
            .set('Authorization', bearer(token)),
          403,
          '/users/me',
        );
      });

      it('answers 403 insufficient_scope on routes needing a scope the token lacks', async () => {
        const token = await clientToken(client, { scope: 'profile' });

        const response = await testApp
          .http()
          .get('/users')
          .set('Authorization', bearer(token));
        expectProblem(response, 403, '/users');
        expect(response.headers['www-authenticate']).toBe(
          `${BEARER_PREFIX}, error="insufficient_scope", scope="users:read"`,
        );
      });
    });
  });

  describe('grant_type=password through a registered client', () => {
    it('a registered client gets no more scope than it was registered for, even for an admin', async () => {
      const client = await createClient({
        name: 'low-trust-app',
        allowedScopes: ['profile'],
        allowedGrantTypes: ['password', 'refresh_token'],
      });

      const response = await tokenRequest()
        .auth(client.id, client.clientSecret)
        .send({
          grant_type: 'password',
          username: ADMIN.username,
          password: ADMIN.password,
        })
        .expect(200);

      expect(response.body.scope).toBe('profile');
    });
  });
});

/**
 * A trigger that makes every UPDATE ending a session fail, on SQLite and
 * PostgreSQL alike: a failure the app cannot tell from a crash mid-way.
 */
function refuseSessionEnds(dataSource: DataSource): {
  install: () => Promise<void>;
  remove: () => Promise<void>;
} {
  if (dataSource.options.type === 'postgres') {
    return {
      install: async () => {
        await dataSource.query(
          `CREATE FUNCTION refuse_session_end() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'sessions cannot end now'; END $$ LANGUAGE plpgsql`,
        );
        await dataSource.query(
          `CREATE TRIGGER refuse_session_end BEFORE UPDATE OF "endedAt" ON sessions FOR EACH ROW EXECUTE FUNCTION refuse_session_end()`,
        );
      },
      remove: async () => {
        await dataSource.query('DROP TRIGGER refuse_session_end ON sessions');
        await dataSource.query('DROP FUNCTION refuse_session_end()');
      },
    };
  }
  return {
    install: async () => {
      await dataSource.query(
        `CREATE TRIGGER refuse_session_end BEFORE UPDATE OF endedAt ON sessions BEGIN SELECT RAISE(ABORT, 'sessions cannot end now'); END`,
      );
    },
    remove: async () => {
      await dataSource.query('DROP TRIGGER refuse_session_end');
    },
  };
}
