import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { OpenAPIObject, ResponseObject } from '@nestjs/swagger';
import { readFileSync } from 'node:fs';
import { DataSource } from 'typeorm';
import type { TestApp } from './utils/test-app.js';
import { createTestApp, TEST_DATABASE_URL } from './utils/test-app.js';

const onSqlite = TEST_DATABASE_URL === undefined ? it : it.skip;
const onPostgres = TEST_DATABASE_URL === undefined ? it.skip : it;

describe('operations', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await createTestApp();
  });
  afterAll(() => testApp.close());

  describe('GET /health/live and /health/ready', () => {
    it('answers 200 while the process runs', async () => {
      const response = await testApp.http().get('/health/live').expect(200);
      expect(response.body.status).toBe('ok');
    });

    it('answers 200 with the database up', async () => {
      const response = await testApp.http().get('/health/ready').expect(200);
      expect(response.body.details.database.status).toBe('up');
    });
  });

  describe('security headers', () => {
    it('sends helmet headers and a CSP, and no X-Powered-By', async () => {
      const response = await testApp.http().get('/health/live').expect(200);
      expect(response.headers['x-powered-by']).toBeUndefined();
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['content-security-policy']).toContain(
        "default-src 'self'",
      );
      expect(response.headers['content-security-policy']).toContain(
        "frame-ancestors 'none'",
      );
    });
  });

  describe('unknown routes', () => {
    it('answer 404 problem details', async () => {
      const response = await testApp
        .http()
        .get('/no/such/route?x=1')
        .expect(404);
      expect(response.headers['content-type']).toMatch(
        /^application\/problem\+json/,
      );
      expect(response.body).toMatchObject({
        status: 404,
        title: 'Not Found',
        instance: '/no/such/route',
      });
    });
  });

  describe('schema', () => {
    it('is exactly what the entities describe once the migrations ran', async () => {
      const pending = await testApp.app
        .get(DataSource)
        .driver.createSchemaBuilder()
        .log();
      expect(pending.upQueries.map((query) => query.query)).toEqual([]);
    });

    // A database made before PostgreSQL support must upgrade untouched: the
    // migrations it already ran build, on SQLite, exactly what they built then,
    // and later ones change only what they say (1764576000000: a signing key's
    // privateKey may be NULL; 1764748800000: login devices indexed by user and
    // expiry; 1764835200000: a client's secretHash may be NULL, its jwks, and
    // the used client assertions' jtis; 1765008000000: a session's DPoP key,
    // a client's dpopBoundAccessTokens, and the used DPoP proofs' jtis;
    // 1765267200000: a session's scope as text).
    onSqlite(
      'on SQLite is exactly what the migrations built before PostgreSQL support',
      async () => {
        const schema = await testApp.app
          .get(DataSource)
          .query(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name",
          );
        expect(schema).toEqual(
          JSON.parse(
            readFileSync('test/fixtures/sqlite-schema.json', 'utf8'),
          ) as unknown,
        );
      },
    );

    onPostgres(
      'on PostgreSQL keeps ids as uuid, instants with their zone, lists as text[], details as jsonb',
      async () => {
        const columns = await testApp.app
          .get(DataSource)
          .query<{ table_name: string; column_name: string; type: string }[]>(
            `SELECT table_name, column_name, format_type(atttypid, atttypmod) AS type
             FROM information_schema.columns
             JOIN pg_attribute ON attrelid = (quote_ident(table_name))::regclass AND attname = column_name
            WHERE table_schema = 'public' AND table_name <> 'migrations'`,
          );
        const typeOf = (table: string, column: string) =>
          columns.find(
            (row) => row.table_name === table && row.column_name === column,
          )?.type;
        expect(typeOf('users', 'id')).toBe('uuid');
        expect(typeOf('users', 'roles')).toBe('text[]');
        expect(typeOf('users', 'isActive')).toBe('boolean');
        expect(typeOf('clients', 'allowedScopes')).toBe('text[]');
        expect(typeOf('audit_events', 'details')).toBe('jsonb');
        // Every instant, in every table, keeps its zone.
        const instants = columns.filter((row) =>
          row.type.startsWith('timestamp'),
        );
        expect(instants.length).toBeGreaterThanOrEqual(12);
        expect(
          instants.filter((row) => row.type !== 'timestamp with time zone'),
        ).toEqual([]);
      },
    );
  });

  describe('Swagger UI and the OpenAPI document', () => {
    let document: OpenAPIObject;
    beforeAll(async () => {
      document = (await testApp.http().get('/docs-json').expect(200))
        .body as OpenAPIObject;
    });

    const operations = () =>
      Object.entries(document.paths).flatMap(([path, item]) =>
        (['get', 'post', 'put', 'patch', 'delete'] as const)
          .filter((method) => item[method] !== undefined)
          .map((method) => ({ path, method, operation: item[method]! })),
      );

    it('serves Swagger UI at /docs and its assets under the CSP', async () => {
      const page = await testApp.http().get('/docs').redirects(1).expect(200);
      expect(page.text).toContain('swagger-ui');
      await testApp.http().get('/docs/swagger-ui-init.js').expect(200);
      await testApp.http().get('/docs/swagger-ui-bundle.js').expect(200);
    });

    it('serves the document as YAML at /docs-yaml', async () => {
      const response = await testApp.http().get('/docs-yaml').expect(200);
      expect(response.text).toMatch(/^openapi: 3\./);
    });

    it('is the committed openapi.json (else: npm run openapi)', () => {
      expect(document).toEqual(
        JSON.parse(readFileSync('openapi.json', 'utf8')) as OpenAPIObject,
      );
    });

    it('gives every error response its RFC 6749 or RFC 9457 schema', () => {
      const oauthPaths = [
        '/auth/token',
        '/auth/revoke',
        '/auth/introspect',
        '/auth/device_authorization',
      ];
      for (const { path, method, operation } of operations()) {
        for (const [status, response] of Object.entries(operation.responses)) {
          if (Number(status) < 400) continue;
          const content = (response as ResponseObject).content ?? {};
          const expected = oauthPaths.includes(path)
            ? { 'application/json': '#/components/schemas/OAuthErrorDto' }
            : {
                'application/problem+json': `#/components/schemas/${
                  status === '400'
                    ? 'ValidationProblemDetailsDto'
                    : 'ProblemDetailsDto'
                }`,
              };
          const actual = Object.fromEntries(
            Object.entries(content).map(([type, media]) => [
              type,
              (media.schema as { $ref?: string } | undefined)?.$ref,
            ]),
          );
          expect({ path, method, status, content: actual }).toEqual({
            path,
            method,
            status,
            content: expected,
          });
        }
      }
    });

    // Redocly's operation-4xx-response is off for the input-less public GETs
    // (redocly.yaml); this is the rule for everything else.
    it('documents a 4xx for every operation that takes input or credentials', () => {
      for (const { path, method, operation } of operations()) {
        const takesInput =
          operation.requestBody !== undefined ||
          (operation.parameters ?? []).length > 0 ||
          (operation.security ?? []).some(
            (requirement) => Object.keys(requirement).length > 0,
          );
        if (!takesInput) continue;
        const errors = Object.keys(operation.responses).filter(
          (status) => Number(status) >= 400 && Number(status) < 500,
        );
        expect({ path, method, errors: errors.length > 0 }).toEqual({
          path,
          method,
          errors: true,
        });
      }
    });

    it("states every operation's security: scopes, a pasted bearer token, or none", () => {
      for (const { path, operation } of operations()) {
        expect(operation.security).toEqual(expect.any(Array));
        if (path.startsWith('/.well-known/') || path.startsWith('/health/')) {
          expect(operation.security).toEqual([{}]);
        }
      }
      expect(document.paths['/auth/token'].post!.security).toEqual([
        {},
        { clientBasic: [] },
      ]);
      expect(document.paths['/users'].post!.security).toEqual([
        {},
        { oauth2: ['users:write'] },
        { bearer: [] },
      ]);
    });

    it('declares the OAuth2 password flow on /auth/token and a bearer scheme', () => {
      expect(document.components?.securitySchemes).toMatchObject({
        oauth2: {
          type: 'oauth2',
          flows: {
            password: {
              tokenUrl: '/auth/token',
              refreshUrl: '/auth/token',
              scopes: { profile: expect.any(String) },
            },
          },
        },
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
      });
    });

    it('gives every operation a unique operationId, a tag and a summary', () => {
      const all = operations();
      expect(all.length).toBeGreaterThanOrEqual(6);
      for (const { operation } of all) {
        expect(operation.operationId).toMatch(/^[a-z][A-Za-z]+$/);
        expect(operation.tags?.length).toBeGreaterThan(0);
        expect(operation.summary).toEqual(expect.any(String));
      }
      const ids = all.map(({ operation }) => operation.operationId);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it('documents GET /users/me with its scope, its user schema and its 401, 403 and 503', () => {
      const me = document.paths['/users/me'].get!;
      expect(me.operationId).toBe('getCurrentUser');
      expect(me.security).toEqual([{ oauth2: ['profile'] }, { bearer: [] }]);
      expect(Object.keys(me.responses).sort()).toEqual([
        '200',
        '401',
        '403',
        '503',
      ]);
      const schemas = document.components?.schemas ?? {};
      expect(
        Object.keys(
          (schemas.UserDto as { properties: object }).properties,
        ).sort(),
      ).toEqual([
        'createdAt',
        'id',
        'isActive',
        'roles',
        'updatedAt',
        'username',
      ]);
    });

    it('documents POST /auth/token as a form with RFC 6749 errors', () => {
      const token = document.paths['/auth/token'].post!;
      expect(token.operationId).toBe('issueToken');
      expect(
        Object.keys((token.requestBody as { content: object }).content),
      ).toEqual(['application/x-www-form-urlencoded']);
      expect(Object.keys(token.responses).sort()).toEqual([
        '200',
        '400',
        '401',
        '413',
        '415',
        '429',
        '503',
      ]);
    });

    it('documents POST /users with its body, 201 and each error', () => {
      const register = document.paths['/users'].post!;
      expect(register.operationId).toBe('registerUser');
      expect(Object.keys(register.responses).sort()).toEqual([
        '201',
        '400',
        '401',
        '403',
        '409',
        '413',
        '415',
        '429',
        '503',
      ]);
    });

    it('documents 503 on every operation that reads the database', () => {
      // Served from memory: the discovery documents and the keys.
      const fromMemory = [
        '/.well-known/oauth-authorization-server',
        '/.well-known/oauth-protected-resource',
        '/.well-known/jwks.json',
      ];
      const undocumented = Object.entries(document.paths)
        .filter(([path]) => !fromMemory.includes(path))
        .flatMap(([path, item]) =>
          (['get', 'post', 'put', 'patch', 'delete'] as const)
            .filter((method) => item[method] !== undefined)
            .filter((method) => item[method]!.responses['503'] === undefined)
            .map((method) => `${method.toUpperCase()} ${path}`),
        );
      expect(undocumented).toEqual([]);
    });
  });
});
