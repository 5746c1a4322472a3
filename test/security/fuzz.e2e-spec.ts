import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Response } from 'supertest';
import {
  ADMIN,
  ADMIN_ENV,
  createClientAs,
  GOOD_PASSWORD,
  passwordGrant,
  registerUser,
  tokenClient,
} from '../utils/flows.js';
import type { CreatedClient, TokenBody } from '../utils/flows.js';
import { expectNoLeak, OAUTH_DESCRIPTION_CHARSET } from '../utils/security.js';
import type { TestApp } from '../utils/test-app.js';
import { createTestApp } from '../utils/test-app.js';

/**
 * Property-based fuzzing of every operation in the committed OpenAPI
 * document: a new route is fuzzed without anyone listing it here.
 *
 * FUZZ_RUNS (default 40) runs per operation, with and without a valid
 * administrator's token. A failure prints fast-check's seed and path;
 * `FUZZ_SEED=<seed> FUZZ_PATH=<path>` replays it
 * (`FUZZ_SEED=<seed> npm test -- -t '<operation>'`).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const SEED =
  process.env.FUZZ_SEED === undefined
    ? undefined
    : Number(process.env.FUZZ_SEED);
const PATH = process.env.FUZZ_PATH;

interface Schema {
  $ref?: string;
  type?: string;
  enum?: unknown[];
  example?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
}
interface Parameter {
  name: string;
  in: 'query' | 'path' | 'header';
  required?: boolean;
  schema: Schema;
}
interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

const document = JSON.parse(
  readFileSync(join(process.cwd(), 'openapi.json'), 'utf8'),
) as Document;

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

const operations = Object.entries(document.paths).flatMap(([path, item]) =>
  HTTP_METHODS.filter((method) => item[method] !== undefined).map((method) => ({
    method,
    path,
    operation: item[method],
  })),
);
const operationsInDocument = Object.values(document.paths)
  .flatMap((item) => Object.keys(item))
  .filter((key) => (HTTP_METHODS as readonly string[]).includes(key)).length;

const resolve = (schema: Schema): Schema =>
  schema.$ref === undefined
    ? schema
    : document.components.schemas[schema.$ref.split('/').pop()!];

/** The endpoints whose errors are RFC 6749 §5.2 bodies. */
const OAUTH_PATHS = new Set([
  '/auth/token',
  '/auth/revoke',
  '/auth/introspect',
  '/auth/device_authorization',
]);
const OAUTH_ERRORS = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_target',
  'invalid_dpop_proof',
  'authorization_pending',
  'slow_down',
  'access_denied',
  'expired_token',
  'temporarily_unavailable',
];

/** Strings an attacker tries first, besides random ones. */
const NASTY_STRINGS = [
  "' OR 1=1 --",
  "admin'--",
  '" OR ""="',
  '1; DROP TABLE users; --',
  '{"$gt": ""}',
  '%00',
  '\u0000',
  '../../../../etc/passwd',
  '%2e%2e%2f',
  '<script>alert(1)</script>',
  '${7*7}{{7*7}}',
  'line\r\nSet-Cookie: x=1',
  '\u2028\u2029',
  '\uFEFF\u200B',
  'ｒｏｏｔ',
  'e\u0301\u0301\u0301',
  '😀'.repeat(40),
  '\uD800',
  'NaN',
  '-1',
  '1e309',
  '0x10',
  'null',
  'true',
  '[]',
  '__proto__',
  'constructor',
  'x'.repeat(5000),
];

/** Printable ASCII: what a header value may carry on the wire. */
const headerText = (maxLength: number) =>
  fc.string({
    unit: fc
      .integer({ min: 0x20, max: 0x7e })
      .map((c) => String.fromCharCode(c)),
    maxLength,
  });

const anyString = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
);

/** Anything JSON can carry, shallow enough to stay fast. */
const anyJson = fc.jsonValue({ maxDepth: 3 });

/** A value of the schema's type, often a valid one, sometimes hostile. */
function valueOf(
  raw: Schema,
  known: fc.Arbitrary<string>,
): fc.Arbitrary<unknown> {
  const schema = resolve(raw);
  if (schema.enum !== undefined) {
    return fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...schema.enum) },
      { weight: 1, arbitrary: anyString },
    );
  }
  switch (schema.type) {
    case 'string':
      return fc.oneof(
        ...(schema.example === undefined ? [] : [fc.constant(schema.example)]),
        known,
        anyString,
      );
    case 'number':
    case 'integer':
      return fc.oneof(
        fc.integer({
          min: schema.minimum ?? -10,
          max: Math.min(schema.maximum ?? 1000, 1000),
        }),
        fc.double(),
        fc.integer(),
      );
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(valueOf(schema.items ?? {}, known), { maxLength: 5 });
    case 'object':
      return objectOf(schema, known);
    default:
      return anyJson;
  }
}

/** Required properties always, optional ones sometimes. */
function objectOf(schema: Schema, known: fc.Arbitrary<string>) {
  const properties = schema.properties ?? {};
  const arbitraries = Object.fromEntries(
    Object.entries(properties).map(([name, property]) => [
      name,
      valueOf(property, known),
    ]),
  );
  return fc.record(arbitraries, { requiredKeys: schema.required ?? [] });
}

/** A body shaped like the schema, or broken in one of the usual ways. */
function bodyOf(
  raw: Schema,
  known: fc.Arbitrary<string>,
): fc.Arbitrary<unknown> {
  const schema = resolve(raw);
  const valid = objectOf(schema, known);
  return fc.oneof(
    { weight: 4, arbitrary: valid },
    // An extra field: mass assignment, or a typo.
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          valid,
          fc.constantFrom(
            'roles',
            'isActive',
            'id',
            'passwordHash',
            '__proto__',
            'x',
          ),
          anyJson,
        )
        .map(([body, key, value]) => ({ ...body, [key]: value })),
    },
    // A required field missing.
    {
      weight: 1,
      arbitrary: fc
        .tuple(valid, fc.constantFrom(...(schema.required ?? ['x'])))
        .map(([body, key]) => {
          const copy: Record<string, unknown> = { ...body };
          delete copy[key];
          return copy;
        }),
    },
    // Each field of any type at all (null, arrays for objects, numbers for strings).
    {
      weight: 2,
      arbitrary: fc.record(
        Object.fromEntries(
          Object.keys(schema.properties ?? {}).map((name) => [name, anyJson]),
        ),
      ),
    },
    { weight: 1, arbitrary: anyJson },
    { weight: 1, arbitrary: fc.constant('x'.repeat(70_000)) },
  );
}

interface FuzzRequest {
  /** `valid`: the fixture's real token; `none`: no header; else the header itself. */
  authorization: string;
  path: Record<string, string | { raw: string }>;
  query: Record<string, unknown>;
  body: unknown;
  /** `json`, `form`, `none` (no header), or the header itself. */
  contentType: string;
  forwardedFor?: string;
  userAgent?: string;
}

/** Every part of a request to one operation. */
function requestOf(
  path: string,
  operation: Operation,
  known: fc.Arbitrary<string>,
  knownIds: fc.Arbitrary<string>,
): fc.Arbitrary<FuzzRequest> {
  const parameters = operation.parameters ?? [];
  const pathParameters = parameters.filter(
    (parameter) => parameter.in === 'path',
  );
  const queryParameters = parameters.filter(
    (parameter) => parameter.in === 'query',
  );
  const content = operation.requestBody?.content ?? {};
  const [bodySchema] = Object.values(content).map(({ schema }) => schema);
  return fc
    .record(
      {
        authorization: fc.oneof(
          { weight: 5, arbitrary: fc.constant('valid') },
          { weight: 2, arbitrary: fc.constant('none') },
          {
            weight: 3,
            arbitrary: fc.oneof(
              headerText(60).map((text) => `Bearer ${text}`),
              headerText(60).map((text) => `Basic ${text}`),
              fc.constant('Basic Og=='),
              fc.constant(
                `Basic ${Buffer.from("' OR 1=1 --:x").toString('base64')}`,
              ),
              fc.constant('Bearer eyJhbGciOiJub25lIn0.e30.'),
              headerText(8000),
            ),
          },
        ),
        path: fc.record(
          Object.fromEntries(
            pathParameters.map((parameter) => [
              parameter.name,
              fc.oneof(
                { weight: 3, arbitrary: knownIds },
                { weight: 1, arbitrary: fc.uuid() },
                {
                  weight: 2,
                  arbitrary: anyString.filter((text) => text !== ''),
                },
                // Sent as they are, not percent-encoded: malformed escapes.
                {
                  weight: 1,
                  arbitrary: fc
                    .constantFrom('%', '%E0%A4%A', '%zz', '%00', '%2e%2e', '..')
                    .map((text) => ({ raw: text })),
                },
              ),
            ]),
          ),
        ),
        query: fc.record(
          {
            ...Object.fromEntries(
              queryParameters.map((parameter) => [
                parameter.name,
                fc.oneof(
                  valueOf(parameter.schema, known),
                  anyString,
                  fc.array(anyString, { maxLength: 3 }),
                ),
              ]),
            ),
            extra: anyString,
          },
          { requiredKeys: [] },
        ),
        body:
          bodySchema === undefined
            ? fc.oneof(fc.constant(undefined), anyJson)
            : bodyOf(bodySchema, known),
        contentType: fc.oneof(
          { weight: 6, arbitrary: fc.constant('schema') },
          {
            weight: 1,
            arbitrary: fc.constantFrom(
              'json',
              'form',
              'text/plain',
              'none',
              'application/json; charset=utf-16',
              'application/xml',
              'multipart/form-data; boundary=x',
              'application/x-www-form-urlencoded; charset=latin1',
              ';;;',
            ),
          },
        ),
        forwardedFor: fc.oneof(
          fc.ipV4(),
          fc.ipV6(),
          headerText(200),
          fc.constant('127.0.0.1, 10.0.0.1, ' + '1.1.1.1, '.repeat(200)),
        ),
        userAgent: headerText(2000),
      },
      {
        requiredKeys: ['authorization', 'path', 'query', 'body', 'contentType'],
      },
    )
    .map((request) => ({
      ...request,
      contentType:
        request.contentType === 'schema'
          ? (Object.keys(content)[0] ?? 'json')
          : request.contentType,
    }));
}

/** A value as a form field: strings as they are, the rest as JSON text. */
const formValue = (value: unknown) =>
  typeof value === 'string' ? value : (JSON.stringify(value) ?? '');

function encodeBody(body: unknown, contentType: string): string | undefined {
  if (body === undefined) return undefined;
  if (
    contentType.startsWith('application/x-www-form-urlencoded') ||
    contentType === 'form'
  ) {
    if (typeof body !== 'object' || body === null) return formValue(body);
    const form = new URLSearchParams();
    for (const [key, value] of Object.entries(body)) {
      for (const item of Array.isArray(value) ? value : [value]) {
        form.append(key, formValue(item));
      }
    }
    return form.toString();
  }
  return JSON.stringify(body);
}

/**
 * Every byte of the UTF-8 form, percent-encoded: a lone surrogate (which
 * encodeURIComponent refuses) goes as U+FFFD, as a browser would send it.
 */
const percentEncoded = (text: string) =>
  [...Buffer.from(text, 'utf8')]
    .map((byte) => `%${byte.toString(16).padStart(2, '0')}`)
    .join('');

const pathSegment = (value: string | { raw: string }) =>
  typeof value === 'string' ? percentEncoded(value) : value.raw;

function encodeQuery(query: Record<string, unknown>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      search.append(key, formValue(item));
    }
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

/**
 * What every answer must be: no 5xx, nothing of the server's insides, and
 * an error body in the RFC's shape for its endpoint.
 */
function expectWellFormed(response: Response, path: string) {
  // One object per assertion, so that a failure shows the whole answer.
  const answer = {
    status: response.status,
    contentType: response.headers['content-type'],
    body: response.body as unknown,
  };
  expect(answer.status).toBeLessThan(500);
  expectNoLeak(response);
  if (response.status < 400) return;
  if (OAUTH_PATHS.has(path)) {
    expect(answer).toEqual({
      status: response.status,
      contentType: expect.stringMatching(/^application\/json/),
      body: {
        error: expect.stringMatching(
          new RegExp(`^(${OAUTH_ERRORS.join('|')})$`),
        ),
        // RFC 6749 §5.2: printable ASCII without `"` or `\`.
        error_description: expect.stringMatching(OAUTH_DESCRIPTION_CHARSET),
      },
    });
    return;
  }
  expect(answer).toEqual({
    status: response.status,
    contentType: expect.stringMatching(/^application\/problem\+json/),
    body: {
      type: 'about:blank',
      title: expect.any(String),
      status: response.status,
      detail: expect.any(String),
      // Headers too large for the parser: no route was read, so no instance.
      ...(response.status === 431 ? {} : { instance: expect.any(String) }),
      ...(response.status === 400 ? { errors: expect.any(Array) } : {}),
    },
  });
}

describe('fuzzing every operation of openapi.json', () => {
  let testApp: TestApp;
  let adminToken: string;
  /**
   * A second administrator for the `/users/me…` operations and the target
   * of the destructive ones: it may be renamed, deactivated, deleted or
   * have its password changed, and is made anew when it no longer works.
   */
  let victim: { id: string; tokens: TokenBody; sessionId: string };
  let victimCount = 0;
  let client: CreatedClient;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  const fuzzed = new Set<string>();
  const tokens = tokenClient(() => testApp);

  async function makeVictim() {
    const username = `victim${++victimCount}`;
    const { id } = await registerUser(testApp, username);
    await testApp
      .http()
      .patch(`/users/${id}`)
      .set('Authorization', `Bearer ${adminToken}`)
      .send({ roles: ['user', 'admin'] })
      .expect(200);
    const login = await tokens.login(username, GOOD_PASSWORD);
    const sessions = await testApp
      .http()
      .get('/users/me/sessions')
      .set('Authorization', `Bearer ${login.access_token}`)
      .expect(200);
    victim = {
      id,
      tokens: login,
      sessionId: (sessions.body as { id: string }[])[0].id,
    };
  }

  /** Destructive runs end fixtures: make them again before the next run. */
  async function ensureFixtures() {
    const me = await tokens.me(victim.tokens.access_token);
    if (
      me.status !== 200 ||
      !(me.body as { roles: string[] }).roles.includes('admin')
    ) {
      await makeVictim();
    }
    const clients = await testApp
      .http()
      .get('/clients')
      .set('Authorization', `Bearer ${adminToken}`)
      .expect(200);
    if (
      !(clients.body as { id: string }[]).some(({ id }) => id === client.id)
    ) {
      client = await createClientAs(testApp, adminToken, {
        name: 'fuzz-client',
        allowedScopes: ['users:read'],
        allowedGrantTypes: ['client_credentials'],
      });
    }
  }

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    testApp = await createTestApp(ADMIN_ENV);
    adminToken = await passwordGrant(testApp, ADMIN.username, ADMIN.password);
    client = await createClientAs(testApp, adminToken, {
      name: 'fuzz-client',
      allowedScopes: ['users:read'],
      allowedGrantTypes: ['client_credentials'],
    });
    await makeVictim();
  }, 30_000);
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await testApp.close();
  });

  /** Values of the fixtures, so that fuzzed requests also hit real rows and tokens. */
  const known = fc
    .constantFrom(
      () => victim.tokens.access_token,
      () => victim.tokens.refresh_token,
      () => `victim${victimCount}`,
      () => GOOD_PASSWORD,
      () => client.id,
      () => client.clientSecret,
    )
    .map((read) => read());
  const knownIds = fc
    .constantFrom(
      () => victim.id,
      () => victim.sessionId,
      () => client.id,
    )
    .map((read) => read());

  it.each(
    operations.map(
      ({ method, path, operation }) =>
        [
          `${method.toUpperCase()} ${path} (${operation.operationId})`,
          method,
          path,
          operation,
        ] as const,
    ),
  )(
    '%s: never a 5xx, a leak or a malformed error',
    async (name, method, path, operation) => {
      await fc.assert(
        fc.asyncProperty(
          requestOf(path, operation, known, knownIds),
          async (request) => {
            await ensureFixtures();
            const url =
              path.replace(/\{(\w+)\}/g, (_, key: string) =>
                pathSegment(request.path[key]),
              ) + encodeQuery(request.query);
            const token = path.startsWith('/users/me')
              ? victim.tokens.access_token
              : adminToken;
            let call = testApp.http()[method](url);
            if (request.authorization === 'valid')
              call = call.set('Authorization', `Bearer ${token}`);
            else if (request.authorization !== 'none')
              call = call.set('Authorization', request.authorization);
            if (request.forwardedFor !== undefined)
              call = call.set('X-Forwarded-For', request.forwardedFor);
            if (request.userAgent !== undefined)
              call = call.set('User-Agent', request.userAgent);
            const contentType =
              request.contentType === 'json'
                ? 'application/json'
                : request.contentType === 'form'
                  ? 'application/x-www-form-urlencoded'
                  : request.contentType;
            const body = encodeBody(request.body, contentType);
            if (body !== undefined && method !== 'get') {
              if (contentType !== 'none')
                call = call.set('Content-Type', contentType);
              call = call.send(body);
            }
            const response = await call;
            expectWellFormed(response, path);
            expect(unhandled).toEqual([]);
          },
        ),
        { numRuns: RUNS, seed: SEED, path: PATH, endOnFailure: true },
      );
      fuzzed.add(name);
    },
    120_000,
  );

  it('fuzzed as many operations as the document has', () => {
    expect(fuzzed.size).toBe(operationsInDocument);
  });

  it('left no unhandled rejection, and the service still answers a health check and a login', async () => {
    expect(unhandled).toEqual([]);
    await testApp.http().get('/health/ready').expect(200);
    await tokens.login(ADMIN.username, ADMIN.password);
  });
});
