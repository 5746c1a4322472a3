import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes, randomInt } from 'node:crypto';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { REDIS_CLIENT } from '../src/redis/redis.module.js';
import { expectOAuthError } from './utils/expectations.js';
import { tokenClient } from './utils/flows.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp, TEST_DATABASE_URL } from './utils/test-app.js';

/**
 * REDIS_URL: the readiness probe covers Redis when it is set, and an
 * instance on PostgreSQL without it says at start that its rate-limit
 * counters are its own. A Redis server for the "up" case comes from
 * TEST_REDIS_URL; CI provides one, so there a missing server fails.
 */
const TEST_REDIS_URL = process.env.TEST_REDIS_URL || undefined;
const withRedis =
  TEST_REDIS_URL !== undefined || process.env.CI === 'true' ? it : it.skip;
const onPostgres = TEST_DATABASE_URL === undefined ? it.skip : it;

/** Nothing listens on port 1 of the loopback: a Redis that is down. */
const UNREACHABLE_REDIS = 'redis://127.0.0.1:1';

// The logger is process-wide: the first app of the file decides where lines go.
const written: string[] = [];
const capture = new Writable({
  write(chunk: Buffer, _encoding, done) {
    written.push(chunk.toString());
    done();
  },
});
const warnings = () =>
  written
    .join('')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { level: number; msg: string })
    .filter((line) => line.level === 40)
    .map((line) => line.msg);
const PER_INSTANCE_WARNING = /REDIS_URL is not set: rate-limit counters/;

describe('GET /health/ready with REDIS_URL', () => {
  let withoutRedis: TestApp;
  beforeAll(async () => {
    withoutRedis = await createTestApp(
      { LOG_LEVEL: 'warn', NODE_ENV: 'production' },
      { logDestination: capture },
    );
  });
  afterAll(() => withoutRedis.close());

  it('leaves Redis out while REDIS_URL is not set', async () => {
    const response = await withoutRedis.http().get('/health/ready').expect(200);
    expect(Object.keys(response.body.details)).toEqual(['database']);
  });

  it('answers 200 degraded when Redis does not answer, while the database does: every instance still serves', async () => {
    const testApp = await createTestApp({ REDIS_URL: UNREACHABLE_REDIS });
    try {
      const response = await testApp.http().get('/health/ready').expect(200);
      expect(response.body).toMatchObject({
        status: 'degraded',
        details: {
          database: { status: 'up' },
          redis: {
            status: 'degraded',
            message: expect.any(String),
            impact: expect.stringMatching(/counted per instance/),
          },
        },
      });
      // Liveness is about the process alone: a Redis outage must not get it restarted.
      await testApp.http().get('/health/live').expect(200);
    } finally {
      await testApp.close();
    }
  });

  it('says once that Redis is unreachable, however often ioredis retries, and shows redis_up 0', async () => {
    const before = warnings().length;
    const testApp = await createTestApp({
      REDIS_URL: UNREACHABLE_REDIS,
      METRICS: 'open',
    });
    try {
      // Each probe pings, and ioredis retries its connection meanwhile.
      for (let probe = 0; probe < 5; probe += 1) {
        await testApp.http().get('/health/ready').expect(200);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const metrics = await testApp.http().get('/metrics').expect(200);
      expect(metrics.text).toMatch(/^redis_up 0$/m);
    } finally {
      await testApp.close();
    }
    expect(
      warnings()
        .slice(before)
        .filter((message) => /Redis unreachable/.test(message)),
    ).toEqual([expect.stringMatching(/counted per instance/)]);
  });

  withRedis('answers 200 with Redis up when it answers', async () => {
    expect(TEST_REDIS_URL).toBeDefined();
    const testApp = await createTestApp({ REDIS_URL: TEST_REDIS_URL! });
    try {
      // "When it answers": the client may still be connecting when the app has just started
      // (commands are not queued while it does), and readiness would rightly say degraded.
      const redis = testApp.app.get<Redis>(REDIS_CLIENT);
      if (redis.status !== 'ready') await once(redis, 'ready');
      const response = await testApp.http().get('/health/ready').expect(200);
      expect(response.body).toMatchObject({
        status: 'ok',
        details: { database: { status: 'up' }, redis: { status: 'up' } },
      });
    } finally {
      await testApp.close();
    }
  });
});

describe('the start-up warning about per-instance rate-limit counters', () => {
  it('is not logged on SQLite, which one instance owns', () => {
    if (TEST_DATABASE_URL !== undefined) return;
    expect(warnings()).not.toContainEqual(
      expect.stringMatching(PER_INSTANCE_WARNING),
    );
  });

  onPostgres('is logged on PostgreSQL without REDIS_URL', () => {
    expect(warnings()).toContainEqual(
      expect.stringMatching(PER_INSTANCE_WARNING),
    );
  });

  onPostgres('is not logged on PostgreSQL with REDIS_URL', async () => {
    written.length = 0;
    const testApp = await createTestApp({ REDIS_URL: UNREACHABLE_REDIS });
    await testApp.close();
    expect(written.join('')).not.toMatch(PER_INSTANCE_WARNING);
  });
});

describe('rate limits with REDIS_URL', () => {
  /** A client address of its own per run: counters in Redis outlive the test. */
  const someClientIp = () =>
    `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
  const refreshFrom = (testApp: TestApp, clientIp: string) =>
    tokenClient(() => testApp)
      .refresh('not a refresh token')
      .set('X-Forwarded-For', clientIp);

  it('still hold while Redis does not answer, each instance counting alone', async () => {
    const testApp = await createTestApp({
      REDIS_URL: UNREACHABLE_REDIS,
      THROTTLE_TOKEN_LIMIT: '2',
    });
    try {
      await tokenClient(() => testApp)
        .refresh('not a refresh token')
        .expect(400);
      await tokenClient(() => testApp)
        .refresh('not a refresh token')
        .expect(400);

      const response = await tokenClient(() => testApp).refresh('x');

      expectOAuthError(response, 429, 'temporarily_unavailable');
    } finally {
      await testApp.close();
    }
  });

  withRedis(
    'are counted once for all the instances sharing one Redis',
    async () => {
      const env = {
        REDIS_URL: TEST_REDIS_URL!,
        TRUST_PROXY: 'loopback',
        THROTTLE_TOKEN_LIMIT: '3',
      };
      const first = await createTestApp(env);
      const second = await createTestApp({
        ...env,
        DATABASE_URL: first.databaseUrl,
      });
      try {
        const clientIp = someClientIp();
        await refreshFrom(first, clientIp).expect(400);
        await refreshFrom(second, clientIp).expect(400);
        await refreshFrom(first, clientIp).expect(400);

        expectOAuthError(
          await refreshFrom(second, clientIp),
          429,
          'temporarily_unavailable',
        );
        // Another client is not held back by it.
        await refreshFrom(second, someClientIp()).expect(400);
      } finally {
        await second.close();
        await first.close();
      }
    },
  );

  withRedis(
    'count the repeats of an event once for all the instances: one audit row, and its attempts are theirs together',
    async () => {
      const env = {
        REDIS_URL: TEST_REDIS_URL!,
        TRUST_PROXY: 'loopback',
        AUDIT_REPEAT_WINDOW_SECONDS: '604800',
      };
      const first = await createTestApp(env);
      const second = await createTestApp({
        ...env,
        DATABASE_URL: first.databaseUrl,
      });
      try {
        const clientId = `nobody-${randomBytes(6).toString('hex')}`;
        for (const instance of [first, second, first, second]) {
          await instance
            .http()
            .post('/auth/introspect')
            .set('X-Forwarded-For', '198.51.100.9')
            .auth(clientId, 'a wrong secret')
            .type('form')
            .send({ token: 'whatever' })
            .expect(401);
        }

        const rows = await first.app
          .get(DataSource)
          .getRepository(AuditEvent)
          .findBy({ type: 'client_authentication.failed', clientId });

        expect(rows.map((row) => row.details)).toEqual([
          { method: 'client_secret_basic', attempts: 4 },
        ]);
      } finally {
        await second.close();
        await first.close();
      }
    },
  );

  withRedis(
    'hold back a burst of guesses at one username, sent at once: no more than the threshold reach the password check',
    async () => {
      const testApp = await createTestApp({
        REDIS_URL: TEST_REDIS_URL!,
        LOGIN_BACKOFF_THRESHOLD: '3',
        LOGIN_BACKOFF_BASE_MS: '60000',
      });
      try {
        const username = `mallory-${randomBytes(6).toString('hex')}`;
        const statuses = (
          await Promise.all(
            Array.from({ length: 12 }, (_, i) =>
              tokenClient(() => testApp).loginRequest(username, `guess ${i}`),
            ),
          )
        ).map((response) => response.status);

        expect(statuses.filter((status) => status === 400).length).toBe(3);
        expect(statuses.filter((status) => status === 429).length).toBe(9);
      } finally {
        await testApp.close();
      }
    },
  );
});
