import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DestinationStream } from 'pino';
import request from 'supertest';
import { AppModule } from '../../src/app.module.js';
import { configureApp, createHttpAdapter } from '../../src/app.setup.js';

export interface TestApp {
  app: NestFastifyApplication;
  /** A supertest agent on the app's server. */
  http: () => ReturnType<typeof request>;
  /** The SQLite file this app runs on, to open a second app on the same data. */
  databaseUrl: string;
  close: () => Promise<void>;
}

export const TEST_PUBLIC_URL = 'http://auth.test';

/**
 * The real app (real SQLite file, migrations, guards, filters) on a
 * temporary directory. bcrypt runs at cost 4 and the rate limits are out
 * of reach unless a test asks otherwise.
 *
 * Passport's strategies are process-wide: the app created last serves the
 * logins and token checks of every app in the test file. A test that opens
 * a second app closes both before the next test uses the first.
 *
 * The logger is process-wide too (nestjs-pino builds it once): the first
 * app's LOG_LEVEL, NODE_ENV and `logDestination` serve every app of the file.
 * Logs go to stdout at level `error` unless a test asks otherwise.
 */
export async function createTestApp(
  env: Record<string, string> = {},
  { logDestination }: { logDestination?: DestinationStream } = {},
): Promise<TestApp> {
  const directory = mkdtempSync(join(tmpdir(), 'auth-e2e-'));
  const databaseUrl =
    env.DATABASE_URL ?? `sqlite:${join(directory, 'auth.sqlite')}`;
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
    await configureApp(app);
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  } catch (error) {
    await app.close().catch(() => undefined);
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
  return {
    app,
    http: () => request(app.getHttpServer()),
    databaseUrl,
    close: async () => {
      await app.close();
      rmSync(directory, { recursive: true, force: true });
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
