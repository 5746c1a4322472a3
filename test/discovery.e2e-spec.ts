import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { expectOAuthErrorBody } from './utils/expectations.js';
import { ADMIN, ADMIN_ENV, passwordGrant } from './utils/flows.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp, TEST_PUBLIC_URL } from './utils/test-app.js';

const ALL_SCOPES = [
  'profile',
  'users:read',
  'users:write',
  'clients:write',
  'audit:read',
  'metrics:read',
];
const RESOURCE_METADATA_URL = `${TEST_PUBLIC_URL}/.well-known/oauth-protected-resource`;

interface AuthorizationServerMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  revocation_endpoint: string;
  introspection_endpoint: string;
  grant_types_supported: string[];
  scopes_supported: string[];
  response_types_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  revocation_endpoint_auth_methods_supported: string[];
  introspection_endpoint_auth_methods_supported: string[];
  service_documentation: string;
}

interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  jwks_uri: string;
  scopes_supported: string[];
  bearer_methods_supported: string[];
  resource_signing_alg_values_supported: string[];
  resource_documentation: string;
}

/** The path of a URL the metadata publishes, which must be on this server. */
function pathOf(url: string): string {
  expect(url.startsWith(`${TEST_PUBLIC_URL}/`)).toBe(true);
  return url.slice(TEST_PUBLIC_URL.length);
}

describe('discovery', () => {
  let testApp: TestApp;
  let asMetadata: AuthorizationServerMetadata;
  let prMetadata: ProtectedResourceMetadata;

  beforeAll(async () => {
    testApp = await createTestApp(ADMIN_ENV);
    asMetadata = (
      await testApp
        .http()
        .get('/.well-known/oauth-authorization-server')
        .expect(200)
    ).body as AuthorizationServerMetadata;
    prMetadata = (
      await testApp
        .http()
        .get('/.well-known/oauth-protected-resource')
        .expect(200)
    ).body as ProtectedResourceMetadata;
  });
  afterAll(() => testApp.close());

  describe('GET /.well-known/oauth-authorization-server (RFC 8414)', () => {
    it('§3.2: answers 200 JSON with the metadata of §2, cacheable', async () => {
      const response = await testApp
        .http()
        .get('/.well-known/oauth-authorization-server')
        .expect(200);

      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.headers['cache-control']).toBe('public, max-age=3600');
      expect(response.body).toEqual({
        issuer: TEST_PUBLIC_URL,
        authorization_endpoint: `${TEST_PUBLIC_URL}/auth/authorize`,
        token_endpoint: `${TEST_PUBLIC_URL}/auth/token`,
        jwks_uri: `${TEST_PUBLIC_URL}/.well-known/jwks.json`,
        revocation_endpoint: `${TEST_PUBLIC_URL}/auth/revoke`,
        introspection_endpoint: `${TEST_PUBLIC_URL}/auth/introspect`,
        device_authorization_endpoint: `${TEST_PUBLIC_URL}/auth/device_authorization`,
        grant_types_supported: [
          'authorization_code',
          'password',
          'refresh_token',
          'client_credentials',
          'urn:ietf:params:oauth:grant-type:device_code',
          'urn:ietf:params:oauth:grant-type:token-exchange',
        ],
        scopes_supported: ALL_SCOPES,
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
        authorization_response_iss_parameter_supported: true,
        token_endpoint_auth_methods_supported: [
          'client_secret_basic',
          'client_secret_post',
          'private_key_jwt',
          'none',
        ],
        token_endpoint_auth_signing_alg_values_supported: [
          'RS256',
          'PS256',
          'ES256',
          'ES384',
          'EdDSA',
          'Ed25519',
        ],
        revocation_endpoint_auth_methods_supported: [
          'client_secret_basic',
          'client_secret_post',
          'private_key_jwt',
          'none',
        ],
        revocation_endpoint_auth_signing_alg_values_supported: [
          'RS256',
          'PS256',
          'ES256',
          'ES384',
          'EdDSA',
          'Ed25519',
        ],
        introspection_endpoint_auth_methods_supported: [
          'client_secret_basic',
          'client_secret_post',
          'private_key_jwt',
        ],
        introspection_endpoint_auth_signing_alg_values_supported: [
          'RS256',
          'PS256',
          'ES256',
          'ES384',
          'EdDSA',
          'Ed25519',
        ],
        dpop_signing_alg_values_supported: [
          'RS256',
          'PS256',
          'ES256',
          'ES384',
          'EdDSA',
          'Ed25519',
        ],
        service_documentation: `${TEST_PUBLIC_URL}/docs`,
      });
    });

    it('§3.3: the issuer is the URL the metadata was derived from, and the iss of the tokens', async () => {
      // §3.1: the well-known URI is the issuer with the suffix inserted; here the issuer has no path.
      expect(
        `${asMetadata.issuer}/.well-known/oauth-authorization-server`,
      ).toBe(`${TEST_PUBLIC_URL}/.well-known/oauth-authorization-server`);
      const token = await passwordGrant(
        testApp,
        ADMIN.username,
        ADMIN.password,
      );
      expect(decodeJwt(token).iss).toBe(asMetadata.issuer);
    });

    it('§2: the jwks_uri serves the key that signs the tokens', async () => {
      const response = await testApp
        .http()
        .get(pathOf(asMetadata.jwks_uri))
        .expect(200);
      const token = await passwordGrant(
        testApp,
        ADMIN.username,
        ADMIN.password,
      );

      expect(
        (response.body as { keys: { kid: string }[] }).keys.map(
          (key) => key.kid,
        ),
      ).toContain(decodeProtectedHeader(token).kid);
    });

    it('§2: the token_endpoint is the token endpoint', async () => {
      const response = await testApp
        .http()
        .post(pathOf(asMetadata.token_endpoint))
        .type('form')
        .send({
          grant_type: 'password',
          username: ADMIN.username,
          password: ADMIN.password,
        })
        .expect(200);
      expect((response.body as { token_type: string }).token_type).toBe(
        'Bearer',
      );
    });

    it('§2: the revocation_endpoint accepts an RFC 7009 request', async () => {
      await testApp
        .http()
        .post(pathOf(asMetadata.revocation_endpoint))
        .type('form')
        .send({ token: 'unknown-token' })
        .expect(200);
    });

    it('§2: the introspection_endpoint asks for client authentication, as its auth methods say', async () => {
      expect(
        asMetadata.introspection_endpoint_auth_methods_supported,
      ).not.toContain('none');
      expectOAuthErrorBody(
        await testApp
          .http()
          .post(pathOf(asMetadata.introspection_endpoint))
          .type('form')
          .send({ token: 'x' }),
        401,
        'invalid_client',
      );
    });

    it('§2: the authorization_endpoint answers a browser (a page for a request naming no client)', async () => {
      const response = await testApp
        .http()
        .get(pathOf(asMetadata.authorization_endpoint))
        .expect(400);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    });

    it('§2: the service_documentation is served', async () => {
      await testApp
        .http()
        .get(pathOf(asMetadata.service_documentation))
        .expect(200);
    });

    it('§2: every grant type it lists is supported by the token endpoint', async () => {
      // Without credentials each fails, but never as an unsupported grant type.
      const failures: Record<string, [number, string]> = {
        authorization_code: [400, 'invalid_request'],
        password: [400, 'invalid_request'],
        refresh_token: [400, 'invalid_request'],
        client_credentials: [401, 'invalid_client'],
        // The public client may not use it: only registered clients.
        'urn:ietf:params:oauth:grant-type:device_code': [
          400,
          'unauthorized_client',
        ],
        'urn:ietf:params:oauth:grant-type:token-exchange': [
          401,
          'invalid_client',
        ],
      };
      expect(Object.keys(failures).sort()).toEqual(
        [...asMetadata.grant_types_supported].sort(),
      );
      for (const grantType of asMetadata.grant_types_supported) {
        const [status, error] = failures[grantType];
        expectOAuthErrorBody(
          await testApp
            .http()
            .post(pathOf(asMetadata.token_endpoint))
            .type('form')
            .send({ grant_type: grantType }),
          status,
          error,
        );
      }
    });

    it('§2: every scope it lists can be granted (an admin holds them all)', async () => {
      const response = await testApp
        .http()
        .post(pathOf(asMetadata.token_endpoint))
        .type('form')
        .send({
          grant_type: 'password',
          username: ADMIN.username,
          password: ADMIN.password,
          scope: asMetadata.scopes_supported.join(' '),
        })
        .expect(200);
      expect((response.body as { scope: string }).scope.split(' ')).toEqual(
        asMetadata.scopes_supported,
      );
    });

    it('is public: no token needed', async () => {
      await testApp
        .http()
        .get('/.well-known/oauth-authorization-server')
        .set('Authorization', 'Bearer not-a-token')
        .expect(200);
    });
  });

  describe('GET /.well-known/oauth-protected-resource (RFC 9728)', () => {
    it('§3.2: answers 200 JSON with the metadata of §2, cacheable', async () => {
      const response = await testApp
        .http()
        .get('/.well-known/oauth-protected-resource')
        .expect(200);

      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.headers['cache-control']).toBe('public, max-age=3600');
      expect(response.body).toEqual({
        resource: TEST_PUBLIC_URL,
        authorization_servers: [TEST_PUBLIC_URL],
        jwks_uri: `${TEST_PUBLIC_URL}/.well-known/jwks.json`,
        scopes_supported: ALL_SCOPES,
        bearer_methods_supported: ['header'],
        resource_signing_alg_values_supported: ['RS256'],
        dpop_signing_alg_values_supported: [
          'RS256',
          'PS256',
          'ES256',
          'ES384',
          'EdDSA',
          'Ed25519',
        ],
        dpop_bound_access_tokens_required: false,
        resource_documentation: `${TEST_PUBLIC_URL}/docs`,
      });
    });

    it('§3.3: the resource is the identifier the metadata URL was derived from, and the aud of the tokens', async () => {
      expect(
        `${prMetadata.resource}/.well-known/oauth-protected-resource`,
      ).toBe(RESOURCE_METADATA_URL);
      const token = await passwordGrant(
        testApp,
        ADMIN.username,
        ADMIN.password,
      );
      expect(decodeJwt(token).aud).toBe(prMetadata.resource);
    });

    it('§2: each authorization server publishes RFC 8414 metadata naming itself as issuer', async () => {
      for (const issuer of prMetadata.authorization_servers) {
        const response = await testApp
          .http()
          .get(
            `${pathOf(`${issuer}/`).slice(0, -1)}/.well-known/oauth-authorization-server`,
          )
          .expect(200);
        expect((response.body as { issuer: string }).issuer).toBe(issuer);
      }
    });

    it('§2: the jwks_uri and resource_documentation resolve', async () => {
      await testApp.http().get(pathOf(prMetadata.jwks_uri)).expect(200);
      await testApp
        .http()
        .get(pathOf(prMetadata.resource_documentation))
        .expect(200);
    });

    it('§2: tokens are signed with an algorithm it lists', async () => {
      const token = await passwordGrant(
        testApp,
        ADMIN.username,
        ADMIN.password,
      );
      expect(prMetadata.resource_signing_alg_values_supported).toContain(
        decodeProtectedHeader(token).alg,
      );
    });

    it('§2: bearer_methods_supported is header only: a token in the query is not accepted', async () => {
      const token = await passwordGrant(
        testApp,
        ADMIN.username,
        ADMIN.password,
      );

      const response = await testApp
        .http()
        .get(`/users/me?access_token=${encodeURIComponent(token)}`);
      expect(response.status).toBe(401);
      expect(response.headers['www-authenticate']).toBe(
        `Bearer realm="${TEST_PUBLIC_URL}", resource_metadata="${RESOURCE_METADATA_URL}"`,
      );
    });

    it('§5.1: Bearer challenges of the resource carry resource_metadata', async () => {
      const missing = await testApp.http().get('/users');
      expect(missing.status).toBe(401);
      expect(missing.headers['www-authenticate']).toBe(
        `Bearer realm="${TEST_PUBLIC_URL}", resource_metadata="${RESOURCE_METADATA_URL}"`,
      );

      const invalid = await testApp
        .http()
        .get('/users/me')
        .set('Authorization', 'Bearer not-a-token');
      expect(invalid.status).toBe(401);
      expect(invalid.headers['www-authenticate']).toMatch(
        new RegExp(
          `^Bearer realm="http://auth\\.test", resource_metadata="http://auth\\.test/\\.well-known/oauth-protected-resource", error="invalid_token"`,
        ),
      );

      const profileOnly = await passwordGrant(
        testApp,
        ADMIN.username,
        ADMIN.password,
        { scope: 'profile' },
      );
      const insufficient = await testApp
        .http()
        .get('/users')
        .set('Authorization', `Bearer ${profileOnly}`);
      expect(insufficient.status).toBe(403);
      expect(insufficient.headers['www-authenticate']).toBe(
        `Bearer realm="${TEST_PUBLIC_URL}", resource_metadata="${RESOURCE_METADATA_URL}", error="insufficient_scope", scope="users:read"`,
      );
    });

    it('§5.1: the resource_metadata URL in a challenge resolves to this metadata', async () => {
      const challenge = (await testApp.http().get('/users/me')).headers[
        'www-authenticate'
      ];
      const url = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];

      const response = await testApp
        .http()
        .get(pathOf(url ?? ''))
        .expect(200);
      expect(response.body).toEqual(prMetadata);
    });
  });
});
