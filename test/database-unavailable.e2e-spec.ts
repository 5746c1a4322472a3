import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import bcrypt from 'bcrypt';
import { Writable } from 'node:stream';
import pg from 'pg';
import type { Response } from 'supertest';
import type { QueryRunner } from 'typeorm';
import { DataSource } from 'typeorm';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { inTransaction } from '../src/database/transaction.js';
import { databaseUnavailableCause } from '../src/database/unavailable.js';
import { RefreshToken } from '../src/sessions/refresh-token.entity.js';
import { Session } from '../src/sessions/session.entity.js';
import { User } from '../src/users/user.entity.js';
import { expectOAuthError, expectProblem } from './utils/expectations.js';
import { GOOD_PASSWORD, registerUser, tokenClient } from './utils/flows.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp, TEST_DATABASE_URL } from './utils/test-app.js';

const onSqlite = TEST_DATABASE_URL === undefined ? describe : describe.skip;
const onPostgres = TEST_DATABASE_URL === undefined ? describe.skip : describe;

/** The app's log lines; the logger is process-wide, so the file shares one capture. */
const written: string[] = [];
const capture = new Writable({
  write(chunk: Buffer, _encoding, done) {
    written.push(chunk.toString());
    done();
  },
});

interface LogLine {
  level: number;
  reqId?: string;
  res?: { statusCode: number };
  dependency?: string;
  dependencyError?: string;
}

/** The lines logged at error level or above for the request of `response`. */
function errorLinesOf(response: Response): LogLine[] {
  return written
    .join('')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as LogLine)
    .filter(
      (line) =>
        line.reqId === response.headers['x-request-id'] && line.level >= 50,
    );
}

/** How many requests /metrics counts as failed by the database; undefined without the series. */
async function databaseFailuresCounted(
  testApp: TestApp,
): Promise<number | undefined> {
  const metrics = await testApp.http().get('/metrics').expect(200);
  const match =
    /^dependency_failures_total\{dependency="database"\} (\d+)$/m.exec(
      metrics.text,
    );
  return match === null ? undefined : Number(match[1]);
}

/** What every write of the tested requests would leave: any change is a write that happened. */
async function storedRows(testApp: TestApp) {
  const dataSource = testApp.app.get(DataSource);
  return {
    users: await dataSource.getRepository(User).count(),
    sessions: await dataSource.getRepository(Session).count(),
    refreshTokens: await dataSource.getRepository(RefreshToken).count(),
    auditEvents: await dataSource.getRepository(AuditEvent).count(),
  };
}

/** RFC 9110 §10.2.3: a delay in whole seconds. */
function expectRetryAfter(response: Response) {
  expect(response.headers['retry-after']).toMatch(/^[1-9][0-9]*$/);
}

/** RFC 9457 problem details, 503, nothing of the driver's error in the body. */
function expectUnavailableProblem(response: Response, instance: string) {
  expectProblem(response, 503, instance);
  expectRetryAfter(response);
  expect(response.text).not.toMatch(
    /sqlite|readonly|locked|timeout|select|insert/i,
  );
}

/** RFC 6749 §5.2 temporarily_unavailable, 503, nothing of the driver's error. */
function expectUnavailableOAuthError(response: Response) {
  expectOAuthError(response, 503, 'temporarily_unavailable');
  expectRetryAfter(response);
  expect(response.text).not.toMatch(/sqlite|readonly|locked|select|insert/i);
}

describe('when the database is unavailable', () => {
  let testApp: TestApp;
  const { loginRequest, tokenRequest } = tokenClient(() => testApp);

  onSqlite('on SQLite', () => {
    beforeAll(async () => {
      testApp = await createTestApp(
        { METRICS: 'open', DATABASE_BUSY_TIMEOUT_MS: '50' },
        { logDestination: capture },
      );
      await registerUser(testApp);
    });
    afterAll(() => testApp.close());

    /** Runs `work` while the app's connection may read but not write. */
    async function whileReadOnly<T>(work: () => Promise<T>): Promise<T> {
      const dataSource = testApp.app.get(DataSource);
      await dataSource.query('PRAGMA query_only = ON');
      try {
        return await work();
      } finally {
        await dataSource.query('PRAGMA query_only = OFF');
      }
    }

    it('POST /users answers 503 problem details with Retry-After, writes nothing, and succeeds once it is writable', async () => {
      const before = await storedRows(testApp);
      const failuresBefore = await databaseFailuresCounted(testApp);

      const refused = await whileReadOnly(() =>
        testApp
          .http()
          .post('/users')
          .send({ username: 'bob', password: GOOD_PASSWORD }),
      );

      expectUnavailableProblem(refused, '/users');
      expect(await storedRows(testApp)).toEqual(before);
      await registerUser(testApp, 'bob');
      expect(
        await testApp.app
          .get(DataSource)
          .getRepository(AuditEvent)
          .countBy({ type: 'user.registered', username: 'bob' }),
      ).toBe(1);
      // The request line names the dependency, the one error line of the request.
      expect(errorLinesOf(refused)).toEqual([
        expect.objectContaining({
          res: { statusCode: 503 },
          dependency: 'database',
          dependencyError: 'SQLITE_READONLY',
        }),
      ]);
      expect(failuresBefore).toEqual(expect.any(Number));
      expect(await databaseFailuresCounted(testApp)).toBe(failuresBefore! + 1);
    });

    it('POST /auth/token answers 503 temporarily_unavailable (RFC 6749 §5.2) with Retry-After, leaves no half-made session, and logs in once it is writable', async () => {
      const before = await storedRows(testApp);

      const refused = await whileReadOnly(() => loginRequest());

      expectUnavailableOAuthError(refused);
      expect(await storedRows(testApp)).toEqual(before);
      await loginRequest().expect(200);
      expect(await storedRows(testApp)).toMatchObject({
        sessions: before.sessions + 1,
        refreshTokens: before.refreshTokens + 1,
      });
    });

    /** Runs `work` while another connection to the file holds its write lock. */
    async function whileLockedElsewhere<T>(work: () => Promise<T>): Promise<T> {
      const other = new DataSource({
        type: 'better-sqlite3',
        database: testApp.databaseUrl.slice('sqlite:'.length),
      });
      await other.initialize();
      try {
        await other.query('BEGIN EXCLUSIVE');
        return await work();
      } finally {
        await other.query('ROLLBACK');
        await other.destroy();
      }
    }

    it('POST /users answers 503 after the busy timeout while another connection holds the write lock, and succeeds once it is released', async () => {
      const before = await storedRows(testApp);

      const refused = await whileLockedElsewhere(() =>
        testApp
          .http()
          .post('/users')
          .send({ username: 'carol', password: GOOD_PASSWORD }),
      );

      expectUnavailableProblem(refused, '/users');
      expect(errorLinesOf(refused)).toEqual([
        expect.objectContaining({
          dependency: 'database',
          dependencyError: expect.stringMatching(/^SQLITE_BUSY/),
        }),
      ]);
      expect(await storedRows(testApp)).toEqual(before);
      await registerUser(testApp, 'carol');
    });

    it('POST /users answers 503 while the file is full, and the writes after it are committed, not left in a transaction that never ends', async () => {
      const dataSource = testApp.app.get(DataSource);
      const [{ page_count: pages }] =
        await dataSource.query<{ page_count: number }[]>('PRAGMA page_count');
      // No page more: as on a full disk, SQLite answers SQLITE_FULL and rolls the transaction back itself.
      await dataSource.query(`PRAGMA max_page_count = ${pages}`);
      let refused: Response | undefined;
      try {
        for (let i = 0; i < 200 && refused === undefined; i++) {
          const response = await testApp
            .http()
            .post('/users')
            .send({ username: `filler-${i}`, password: GOOD_PASSWORD });
          if (response.status !== 201) refused = response;
        }
      } finally {
        await dataSource.query('PRAGMA max_page_count = 1073741823');
      }
      expectUnavailableProblem(refused!, '/users');
      expect(errorLinesOf(refused!)).toEqual([
        expect.objectContaining({
          dependency: 'database',
          dependencyError: 'SQLITE_FULL',
        }),
      ]);

      // A transaction that failed after it, without SQLite ending it
      // itself (read-only), used to leave one open for good: TypeORM still
      // counted the one SQLite had ended, so it began a savepoint and rolled
      // back to it only. Every write after that was answered as stored and
      // never committed.
      expectUnavailableProblem(
        await whileReadOnly(() =>
          testApp
            .http()
            .post('/users')
            .send({ username: 'erin', password: GOOD_PASSWORD }),
        ),
        '/users',
      );
      await registerUser(testApp, 'dave');

      // Committed: another connection to the file sees it.
      const other = new DataSource({
        type: 'better-sqlite3',
        database: testApp.databaseUrl.slice('sqlite:'.length),
      });
      await other.initialize();
      try {
        expect(
          await other.query('SELECT username FROM users WHERE username = ?', [
            'dave',
          ]),
        ).toEqual([{ username: 'dave' }]);
      } finally {
        await other.destroy();
      }
    });

    describe('with the login back-off at 2 attempts', () => {
      let backoffApp: TestApp;

      beforeAll(async () => {
        // The stored hash is cheaper than BCRYPT_COST: a login that checks
        // the password rewrites it, a write the read-only file refuses.
        backoffApp = await createTestApp({
          BCRYPT_COST: '5',
          LOGIN_BACKOFF_THRESHOLD: '2',
          LOGIN_BACKOFF_BASE_MS: '60000',
        });
        await registerUser(backoffApp);
        await backoffApp.app
          .get(DataSource)
          .getRepository(User)
          .update(
            { username: 'alice' },
            { passwordHash: await bcrypt.hash(GOOD_PASSWORD, 4) },
          );
      });
      afterAll(() => backoffApp.close());

      it('POST /auth/token: logins refused with 503 because the password check could not finish do not count toward the back-off, so the owner logs in once it is writable', async () => {
        const dataSource = backoffApp.app.get(DataSource);
        const login = () =>
          backoffApp.http().post('/auth/token').type('form').send({
            grant_type: 'password',
            username: 'alice',
            password: GOOD_PASSWORD,
          });
        await dataSource.query('PRAGMA query_only = ON');
        try {
          for (let attempt = 0; attempt < 3; attempt++) {
            expectUnavailableOAuthError(await login());
          }
        } finally {
          await dataSource.query('PRAGMA query_only = OFF');
        }

        await login().expect(200);
      });
    });
  });

  onPostgres('on PostgreSQL', () => {
    beforeAll(async () => {
      testApp = await createTestApp(
        {
          METRICS: 'open',
          DATABASE_POOL_SIZE: '2',
          DATABASE_CONNECT_TIMEOUT_MS: '1000',
          DATABASE_STATEMENT_TIMEOUT_MS: '1000',
        },
        { logDestination: capture },
      );
      await registerUser(testApp);
    });
    afterAll(() => testApp.close());

    /** Runs `work` while every connection of the app's pool is taken. */
    async function whilePoolExhausted<T>(work: () => Promise<T>): Promise<T> {
      const dataSource = testApp.app.get(DataSource);
      const held: QueryRunner[] = [];
      try {
        for (let taken = 0; taken < 2; taken++) {
          const runner = dataSource.createQueryRunner();
          held.push(runner);
          await runner.connect();
        }
        return await work();
      } finally {
        await Promise.all(held.map((runner) => runner.release()));
      }
    }

    /** Runs `work` while another session holds `table` locked against every statement. */
    async function whileTableLocked<T>(
      table: string,
      work: () => Promise<T>,
    ): Promise<T> {
      const other = new pg.Client({ connectionString: testApp.databaseUrl });
      await other.connect();
      // Without a statement timeout the request would wait for ever: let it
      // through eventually, so such a server fails the test rather than hangs it.
      const release = setTimeout(() => void other.query('ROLLBACK'), 10_000);
      try {
        await other.query('BEGIN');
        await other.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
        return await work();
      } finally {
        clearTimeout(release);
        await other.query('ROLLBACK');
        await other.end();
      }
    }

    it('POST /users answers 503 problem details once the pool wait is over, instead of hanging, and succeeds once a connection is free', async () => {
      const before = await storedRows(testApp);

      const refused = await whilePoolExhausted(() =>
        testApp
          .http()
          .post('/users')
          .send({ username: 'bob', password: GOOD_PASSWORD }),
      );

      expectUnavailableProblem(refused, '/users');
      expect(errorLinesOf(refused)).toEqual([
        expect.objectContaining({
          dependency: 'database',
          dependencyError: 'pool_timeout',
        }),
      ]);
      expect(await storedRows(testApp)).toEqual(before);
      await registerUser(testApp, 'bob');
    });

    it('POST /auth/token answers 503 temporarily_unavailable while the pool is exhausted', async () => {
      const refused = await whilePoolExhausted(() => loginRequest());

      expectUnavailableOAuthError(refused);
      await loginRequest().expect(200);
    });

    it('POST /users and POST /auth/token answer 503 when a statement outlasts the statement timeout', async () => {
      const before = await storedRows(testApp);

      const [registration, login] = await whileTableLocked('users', () =>
        Promise.all([
          testApp
            .http()
            .post('/users')
            .send({ username: 'carol', password: GOOD_PASSWORD }),
          loginRequest(),
        ]),
      );

      expectUnavailableProblem(registration, '/users');
      expect(errorLinesOf(registration)).toEqual([
        expect.objectContaining({
          dependency: 'database',
          dependencyError: '57014',
        }),
      ]);
      expectUnavailableOAuthError(login);
      expect(await storedRows(testApp)).toEqual(before);
      await registerUser(testApp, 'carol');
      await loginRequest().expect(200);
    });

    it('a login whose device cookie cannot be stored once its session is: 200 with the tokens and no cookie, not a 503 for a session that exists', async () => {
      const before = await storedRows(testApp);

      const login = await whileTableLocked('login_devices', () =>
        loginRequest(),
      );

      expect(login.status).toBe(200);
      expect(login.headers['set-cookie']).toBeUndefined();
      const after = await storedRows(testApp);
      expect(after.sessions).toBe(before.sessions + 1);
      const { refresh_token } = login.body as { refresh_token: string };
      await tokenRequest({
        grant_type: 'refresh_token',
        refresh_token,
      }).expect(200);
    });

    it('a registration whose audit row times out leaves no user behind', async () => {
      const before = await storedRows(testApp);

      const refused = await whileTableLocked('audit_events', () =>
        testApp
          .http()
          .post('/users')
          .send({ username: 'dave', password: GOOD_PASSWORD }),
      );

      expectUnavailableProblem(refused, '/users');
      expect(await storedRows(testApp)).toEqual(before);
      await registerUser(testApp, 'dave');
    });

    it('a transaction whose connection the server ends between two statements fails as the database unavailable (503), not as a 500', async () => {
      const dataSource = testApp.app.get(DataSource);
      const other = new pg.Client({ connectionString: testApp.databaseUrl });
      await other.connect();
      try {
        const failure = await inTransaction(dataSource, async (manager) => {
          const [{ pid }] = await manager.query<{ pid: number }[]>(
            'SELECT pg_backend_pid() AS pid',
          );
          // As when the server restarts: the connection ends while the transaction is idle.
          await other.query('SELECT pg_terminate_backend($1)', [pid]);
          await new Promise((resolve) => setTimeout(resolve, 200));
          await manager.query('SELECT 1');
        }).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(failure).toBeDefined();
        expect(databaseUnavailableCause(failure)).toBe('connection_terminated');
      } finally {
        await other.end();
      }
      // The pool let the dead connection go: the app serves on.
      await loginRequest().expect(200);
    });

    describe('with the login back-off at 2 attempts', () => {
      let backoffApp: TestApp;

      beforeAll(async () => {
        backoffApp = await createTestApp({
          DATABASE_POOL_SIZE: '2',
          DATABASE_CONNECT_TIMEOUT_MS: '500',
          LOGIN_BACKOFF_THRESHOLD: '2',
          LOGIN_BACKOFF_BASE_MS: '60000',
        });
        await registerUser(backoffApp);
      });
      afterAll(() => backoffApp.close());

      it('POST /auth/token: logins refused with 503 while the pool is exhausted do not count toward the back-off, so the owner logs in once a connection is free', async () => {
        const login = () =>
          backoffApp.http().post('/auth/token').type('form').send({
            grant_type: 'password',
            username: 'alice',
            password: GOOD_PASSWORD,
          });
        const dataSource = backoffApp.app.get(DataSource);
        const held = [
          dataSource.createQueryRunner(),
          dataSource.createQueryRunner(),
        ];
        try {
          for (const runner of held) await runner.connect();
          for (let attempt = 0; attempt < 3; attempt++) {
            expectUnavailableOAuthError(await login());
          }
        } finally {
          await Promise.all(held.map((runner) => runner.release()));
        }

        await login().expect(200);
      });
    });
  });
});
