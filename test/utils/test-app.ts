import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { OpenAPIObject } from '@nestjs/swagger';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DestinationStream } from 'pino';
import request from 'supertest';
import { AppModule } from '../../src/app.module.js';
import { configureApp, createHttpAdapter } from '../../src/app.setup.js';
import { createOpenApiDocument } from '../../src/swagger.js';

export interface TestApp {
  app: NestFastifyApplication;
  /** A supertest agent on the app's server. */
  http: () => ReturnType<typeof request>;
  /** The database this app runs on, to open a second app on the same data. */
  databaseUrl: string;
  close: () => Promise<void>;
}

export const TEST_PUBLIC_URL = 'http://auth.test';

/** A database of its own for one test app (or several that share it). */
export interface TestDatabase {
  databaseUrl: string;
  drop: () => Promise<void>;
}

/**
 * The PostgreSQL server the e2e suite runs on instead of SQLite: an URL
 * whose user may CREATE DATABASE (`npm run test:e2e:pg` requires it).
 */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || undefined;

/**
 * A fresh, empty database: a SQLite file in a temporary directory, or,
 * when TEST_DATABASE_URL is set, a new database on that PostgreSQL server,
 * dropped again by `drop`. A server that cannot be reached fails the test.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (TEST_DATABASE_URL === undefined) {
    const directory = mkdtempSync(join(tmpdir(), 'auth-e2e-'));
    return {
      databaseUrl: `sqlite:${join(directory, 'auth.sqlite')}`,
      drop: () => {
        rmSync(directory, { recursive: true, force: true });
        return Promise.resolve();
      },
    };
  }
  const name = `auth_e2e_${randomBytes(8).toString('hex')}`;
  await onServer(`CREATE DATABASE ${name}`);
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    databaseUrl: url.toString(),
    // FORCE: a test that failed half-way may have left a connection open.
    drop: () => onServer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

async function onServer(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/**
 * The OpenAPI document of each configuration a test file starts apps with
 * (the database aside, which adds no route), built by the first such app:
 * the routes and schemas follow from the code and the configuration alone.
 */
const openApiDocuments = new Map<string, Promise<OpenAPIObject>>();

function openApiDocumentFor(
  env: Record<string, string>,
): (app: NestFastifyApplication) => Promise<OpenAPIObject> {
  const configuration = JSON.stringify(
    Object.entries(env)
      .filter(([name]) => name !== 'DATABASE_URL')
      .sort(([a], [b]) => a.localeCompare(b)),
  );
  return (app) => {
    let document = openApiDocuments.get(configuration);
    if (document === undefined) {
      document = createOpenApiDocument(app);
      openApiDocuments.set(configuration, document);
      // A start that failed leaves nothing behind for the next app to reuse.
      document.catch(() => openApiDocuments.delete(configuration));
    }
    // Shared, not copied: Swagger UI only serializes it.
    return document;
  };
}

/**
 * The real app (real database, migrations, guards, filters) on a database
 * of its own: a SQLite file, or a PostgreSQL database when
 * TEST_DATABASE_URL is set. bcrypt runs at cost 4 and the rate limits are
 * out of reach unless a test asks otherwise.
 * With `DATABASE_URL` given, the app opens that database and leaves it in
 * place when it closes.
 *
 * Passport's strategies are process-wide: the app created last serves the
 * logins and token checks of every app in the test file. A test that opens
 * a second app closes both before the next test uses the first.
 *
 * The logger is process-wide too (nestjs-pino builds it once): the first
 * app's LOG_LEVEL, NODE_ENV and `logDestination` serve every app of the file.
 * Logs go to stdout at level `error` unless a test asks otherwise.
 *
 * Apps of one configuration share one OpenAPI document, built by the first.
 */
export async function createTestApp(
  env: Record<string, string> = {},
  { logDestination }: { logDestination?: DestinationStream } = {},
): Promise<TestApp> {
  const database =
    env.DATABASE_URL === undefined
      ? await createTestDatabase()
      : { databaseUrl: env.DATABASE_URL, drop: () => Promise.resolve() };
  const databaseUrl = database.databaseUrl;
  // ConfigModule copies validated values into process.env; keep apps of one file apart.
  const savedEnv = { ...process.env };
  const module = await AppModule.forRoot(
    {
      NODE_ENV: 'test',
      LOG_LEVEL: 'error',
      BCRYPT_COST: '4',
      PUBLIC_URL: TEST_PUBLIC_URL,
      // Suites log in and register hundreds of times from one address;
      // throttling.e2e-spec.ts and security/ test the limits themselves.
      THROTTLE_TOKEN_LIMIT: '1000000',
      THROTTLE_REGISTRATION_LIMIT: '1000000',
      THROTTLE_PASSWORD_CHANGE_LIMIT: '1000000',
      THROTTLE_CLIENT_AUTH_FAILURE_LIMIT: '1000000',
      THROTTLE_CLIENT_AUTH_FAILURE_PER_CLIENT_LIMIT: '1000000',
      LOGIN_BACKOFF_THRESHOLD: '1000000',
      ...env,
      DATABASE_URL: databaseUrl,
    },
    logDestination,
  );
  process.env = savedEnv;
  const app = await NestFactory.create<NestFastifyApplication>(
    module,
    createHttpAdapter(),
    {
      logger: ['error', 'fatal'],
    },
  );
  try {
    await configureApp(app, { openApiDocument: openApiDocumentFor(env) });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  } catch (error) {
    await app.close().catch(() => undefined);
    await database.drop();
    throw error;
  }
  return {
    app,
    http: () => request(app.getHttpServer()),
    databaseUrl,
    close: async () => {
      await app.close();
      await database.drop();
    },
  };
}

/**
 * Makes the app listen on a free loopback port, for clients that speak real
 * HTTP (a browser, fetch); returns its base URL.
 */
export async function listenOnLoopback(testApp: TestApp): Promise<string> {
  await testApp.app.listen({ port: 0, host: '127.0.0.1' });
  const address = testApp.app.getHttpServer().address();
  if (address === null || typeof address === 'string') {
    throw new Error('the app is not listening on a TCP port');
  }
  return `http://127.0.0.1:${address.port}`;
}
