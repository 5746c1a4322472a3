import {
  afterAll,
  afterEach,
  beforeAll,
  describe,
  expect,
  it,
} from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DataSource } from 'typeorm';
import type { Instance } from '../utils/processes.js';
import {
  freePort,
  isRunning,
  start,
  stop,
  waitUntilReady,
} from '../utils/processes.js';
import type { LoadRecord, LoadTarget, PreparedLoad } from './mixed-load.js';
import { MixedLoad, prepareMixedLoad } from './mixed-load.js';
import type { RssSeries } from './rss.js';
import { median, RssSampler } from './rss.js';
import { missingServers, PostgresServer, RedisServer } from './servers.js';

/**
 * What the service does when a dependency fails under load, as deployed:
 * production builds (`node dist/main.js`) over a PostgreSQL, a Redis and a
 * SQLite file system that this suite stops, kills and fills itself, with a
 * mixed load (./mixed-load.ts) running through each fault.
 * `npm run test:faults` (it builds first). docs/operations.md, "When a
 * dependency fails", is what these tests hold the service to.
 */

const PASSWORD = 'correct horse battery staple';
const ADMIN = { username: 'root', password: 'a long admin passphrase here' };
const WORKERS = 8;
const LOAD_SETUP = { admin: ADMIN, workers: WORKERS, password: PASSWORD };
/**
 * The bound on one request: a request unanswered after this long is a
 * hang. Well above what the suite's own timeouts allow a request that
 * waits on the database (a connection in 1 s, a statement in 2 s).
 */
const REQUEST_TIMEOUT_MS = 10_000;
/** How soon the service must serve again once its dependency is back. */
const RECOVERY_BOUND_MS = 10_000;

const ENV = {
  NODE_ENV: 'production',
  LOG_LEVEL: 'warn',
  BCRYPT_COST: '4',
  PUBLIC_URL: 'http://auth.faults.test',
  ADMIN_USERNAME: ADMIN.username,
  ADMIN_PASSWORD: ADMIN.password,
  METRICS: 'open',
  // Lower than the defaults (2000/5000/1000), so that a wait on a dependency ends well within REQUEST_TIMEOUT_MS.
  DATABASE_CONNECT_TIMEOUT_MS: '1000',
  DATABASE_STATEMENT_TIMEOUT_MS: '2000',
  DATABASE_BUSY_TIMEOUT_MS: '200',
  // All the load comes from 127.0.0.1: no rate limit may refuse it.
  THROTTLE_TOKEN_LIMIT: '1000000',
  THROTTLE_REGISTRATION_LIMIT: '1000000',
};

const inCi = process.env.CI === 'true';
const missing = missingServers();
if (missing !== undefined && !inCi) {
  console.log(`The fault suite is skipped: ${missing}`);
}
// Under CI a missing server fails the suite (in beforeAll), never skips it.
const suite = missing !== undefined && !inCi ? describe.skip : describe;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `found` until it returns a value, or fails after `timeoutMs`. */
async function waitFor<T>(
  what: string,
  found: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 50,
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await found();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) {
      throw new Error(`${what}: not within ${timeoutMs} ms`);
    }
    await pause(everyMs);
  }
}

interface Probe {
  at: number;
  status: number;
  body: { status?: string; details?: Record<string, { status: string }> };
}

/** GET /health/ready every 200 ms until stopped, as a load balancer would. */
/** What a test started that runs until stopped: stopped after each test, passed or not. */
const stoppable: { stop(): Promise<void> }[] = [];

function probeReadiness(instance: Instance) {
  const probes: Probe[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const at = Date.now();
      try {
        const response = await fetch(`${instance.base}/health/ready`, {
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        probes.push({
          at,
          status: response.status,
          body: (await response.json()) as Probe['body'],
        });
      } catch {
        probes.push({ at, status: 0, body: {} });
      }
      await pause(200);
    }
  })();
  const probe = {
    probes,
    async stop() {
      running = false;
      await loop;
    },
  };
  stoppable.push(probe);
  return probe;
}

const is5xx = (record: LoadRecord) => record.status >= 500;

/** Every 503 names when to come back: RFC 9110 §10.2.3, whole seconds. */
const withoutRetryAfter = (records: readonly LoadRecord[]) =>
  records.filter(
    (record) =>
      record.status === 503 && !/^[1-9][0-9]*$/.test(record.retryAfter ?? ''),
  );

const countBy = (
  records: readonly LoadRecord[],
  test: (r: LoadRecord) => boolean,
) => records.filter(test).length;

/** The log lines an instance wrote since `from` (an index into its output). */
const logSince = (instance: Instance, from: number) =>
  instance.output.slice(from).join('');

/** How many request log lines name each dependencyError (the driver's code), since `from`. */
function dependencyErrorsSince(instance: Instance, from: number) {
  const counts: Record<string, number> = {};
  for (const match of logSince(instance, from).matchAll(
    /"dependencyError":"([^"]+)"/g,
  )) {
    counts[match[1]] = (counts[match[1]] ?? 0) + 1;
  }
  return counts;
}

/** Prints the instances' logs when `test` fails, then fails. */
async function printingLogsOnFailure(
  instances: () => (Instance | undefined)[],
  test: () => Promise<void>,
): Promise<void> {
  try {
    await test();
  } catch (error) {
    for (const instance of instances()) {
      if (instance === undefined) continue;
      const lines = instance.output.join('').split('\n');
      // Each 503 is one line naming its dependency: those are counted, the rest is shown.
      const refusals = lines.filter((line) => line.includes('"dependency":'));
      const rest = lines.filter((line) => !line.includes('"dependency":'));
      console.error(
        `${instance.name} (pid ${instance.process.pid}) wrote ${refusals.length} lines of requests refused for a dependency, and:\n` +
          rest.join('\n').slice(-30_000),
      );
    }
    throw error;
  }
}

async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

function mixedLoad(
  prepared: PreparedLoad,
  targets: () => readonly LoadTarget[],
) {
  const load = new MixedLoad({
    ...prepared,
    targets,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    registrationPassword: PASSWORD,
  });
  stoppable.push(load);
  return load;
}

const oneLine = (summary: ReturnType<MixedLoad['summary']>) =>
  Object.entries(summary.routes)
    .map(
      ([route, { byStatus, p99LatencyMs, maxLatencyMs }]) =>
        `${route} ${JSON.stringify(byStatus)} p99 ${p99LatencyMs} ms max ${maxLatencyMs} ms`,
    )
    .join('; ');

suite('when a dependency fails under load (production build)', () => {
  let postgres: PostgresServer | undefined;
  let redis: RedisServer | undefined;
  const rss = new RssSampler();
  /** The instance on PostgreSQL that lives through the first three tests. */
  let a: Instance | undefined;
  let b: Instance | undefined;
  let onSqlite: Instance | undefined;
  let env: Record<string, string>;
  let prepared: PreparedLoad;
  /** Every load record on the PostgreSQL database, for the refresh-token invariant. */
  const postgresRecords: LoadRecord[] = [];
  let tmpfs: string | undefined;
  let tmpfsMounted = false;
  let onReadOnly: Instance | undefined;
  let readOnlyDirectory: string | undefined;
  /** Files made immutable: writable again before anything else is cleaned up. */
  const immutable: string[] = [];
  const instances = () => [a, b, onSqlite, onReadOnly];

  beforeAll(async () => {
    if (missing !== undefined) throw new Error(`CI=true: ${missing}`);
    expect(existsSync('dist/main.js')).toBe(true);
    [postgres, redis] = await Promise.all([
      PostgresServer.create(),
      RedisServer.create(),
    ]);
    env = { ...ENV, DATABASE_URL: postgres.url, REDIS_URL: redis.url };
    a = start('A', await freePort(), env, { output: 'capture' });
    await waitUntilReady(a);
    rss.watch('A', a.process.pid);
    prepared = await prepareMixedLoad(a.base, LOAD_SETUP);
  }, 60_000);

  afterEach(async () => {
    await Promise.all(stoppable.splice(0).map((running) => running.stop()));
  });

  afterAll(async () => {
    rss.stop();
    // Every step, whatever failed before it: no server, mount or directory is left behind.
    const failures: unknown[] = [];
    const attempt = async (step: () => unknown) => {
      try {
        await step();
      } catch (error) {
        failures.push(error);
      }
    };
    await Promise.all(
      instances()
        .filter((instance) => instance !== undefined)
        .map((instance) => attempt(() => stop(instance))),
    );
    if (immutable.length > 0) {
      await attempt(() => execFileSync('chattr', ['-i', ...immutable]));
    }
    if (readOnlyDirectory !== undefined) {
      await attempt(() =>
        rmSync(readOnlyDirectory!, { recursive: true, force: true }),
      );
    }
    if (tmpfsMounted) await attempt(() => execFileSync('umount', [tmpfs!]));
    if (tmpfs !== undefined) {
      await attempt(() => rmSync(tmpfs!, { recursive: true, force: true }));
    }
    await attempt(() => postgres?.destroy());
    await attempt(() => redis?.destroy());
    if (failures.length > 0) throw failures[0];
  }, 30_000);

  it(
    'PostgreSQL stopped for 5 s: 503 with Retry-After, never 500, readiness 503, and the same process serves again once it is back',
    () =>
      printingLogsOnFailure(instances, async () => {
        const instance = a!;
        const pid = instance.process.pid;
        const logFrom = instance.output.length;
        const load = mixedLoad(prepared, () => [instance]);
        load.start();
        await pause(3_000);
        const readiness = probeReadiness(instance);
        const stopping = Date.now();
        await postgres!.stop();
        const down = Date.now();
        await pause(5_000);
        const starting = Date.now();
        await postgres!.start();
        const up = Date.now();
        const firstWrite = await waitFor(
          'a login answered 200 after PostgreSQL restarted',
          () =>
            load
              .between(up)
              .find(
                (record) => record.route === 'login' && record.status === 200,
              ),
          RECOVERY_BOUND_MS,
        );
        await pause(2_000);
        await load.stop();
        await readiness.stop();
        postgresRecords.push(...load.records);

        const records = load.records;
        const outage = load.between(stopping, up);
        const fiveHundreds = countBy(records, (r) => r.status === 500);
        console.log(
          `PostgreSQL stopped ${((starting - down) / 1000).toFixed(1)} s: ${records.length} requests, ` +
            `${outage.length} sent during the outage, 503 ${countBy(records, (r) => r.status === 503)} ` +
            `(without Retry-After ${withoutRetryAfter(records).length}), 500 ${fiveHundreds}, ` +
            `other 5xx ${countBy(records, (r) => is5xx(r) && r.status !== 503 && r.status !== 500)}, ` +
            `unanswered ${countBy(records, (r) => r.failure !== undefined)}, ` +
            `first login 200 ${firstWrite.startedAt + firstWrite.latencyMs - up} ms after the restart; ` +
            `readiness during the outage ${JSON.stringify(readiness.probes.filter((p) => p.at >= down && p.at < starting).map((p) => p.status))}; ` +
            `log lines by dependencyError ${JSON.stringify(dependencyErrorsSince(instance, logFrom))}; ` +
            oneLine(load.summary()),
        );

        expect(records.filter((r) => is5xx(r) && r.status !== 503)).toEqual([]);
        expect(withoutRetryAfter(records)).toEqual([]);
        // Logins refused by the outage are no failed guesses: nobody is held back by the login back-off after it.
        expect(records.filter((r) => r.status === 429)).toEqual([]);
        // Nothing unanswered: the instance lives throughout, so neither a timeout nor a dropped connection.
        expect(records.filter((r) => r.failure !== undefined)).toEqual([]);
        expect(countBy(outage, (r) => r.status === 503)).toBeGreaterThan(0);
        const duringOutage = readiness.probes.filter(
          (probe) => probe.at >= down && probe.at < starting,
        );
        expect(duringOutage.length).toBeGreaterThan(5);
        expect(duringOutage.map((probe) => probe.status)).toEqual(
          duringOutage.map(() => 503),
        );
        // Every route serves again after the restart, within the bound.
        for (const route of ['login', 'refresh', 'me', 'introspect'] as const) {
          const first = load
            .between(up)
            .find((record) => record.route === route && record.status === 200);
          expect(first).toBeDefined();
          expect(first!.startedAt - up).toBeLessThan(RECOVERY_BOUND_MS);
        }
        const ready = await fetch(`${instance.base}/health/ready`);
        expect(ready.status).toBe(200);
        // The same process: nothing restarted it.
        expect(instance.process.pid).toBe(pid);
        expect(isRunning(instance)).toBe(true);
        // Each refused request is one line naming the dependency and the driver's code.
        const log = logSince(instance, logFrom);
        expect(log).toContain('"dependency":"database"');
        expect(log).not.toContain('Unhandled error');
        const metrics = await (await fetch(`${instance.base}/metrics`)).text();
        expect(metrics).toMatch(
          /^dependency_failures_total\{dependency="database"\} [1-9]/m,
        );
      }),
    60_000,
  );

  it(
    'Redis stopped: no 5xx, logins keep succeeding, readiness stays 200 "degraded", and "ok" once it is back',
    () =>
      printingLogsOnFailure(instances, async () => {
        const instance = a!;
        const logFrom = instance.output.length;
        const load = mixedLoad(prepared, () => [instance]);
        load.start();
        await pause(2_000);
        const readiness = probeReadiness(instance);
        await redis!.stop();
        const down = Date.now();
        await pause(5_000);
        const starting = Date.now();
        await redis!.start();
        const up = Date.now();
        const back = await waitFor(
          'readiness "ok" after Redis restarted',
          () =>
            readiness.probes.find((p) => p.at >= up && p.body.status === 'ok'),
          RECOVERY_BOUND_MS,
        );
        await pause(1_000);
        await load.stop();
        await readiness.stop();
        postgresRecords.push(...load.records);

        const records = load.records;
        const duringOutage = readiness.probes.filter(
          (probe) => probe.at >= down + 500 && probe.at < starting,
        );
        console.log(
          `Redis stopped ${((starting - down) / 1000).toFixed(1)} s: ${records.length} requests, ` +
            `5xx ${countBy(records, is5xx)}, unanswered ${countBy(records, (r) => r.failure !== undefined)}, ` +
            `logins during the outage ${JSON.stringify(load.summary(load.between(down, starting)).routes.login?.byStatus)}, ` +
            `readiness during the outage ${JSON.stringify([...new Set(duringOutage.map((p) => `${p.status} ${p.body.status}`))])}, ` +
            `"ok" again ${back.at - up} ms after the restart; ${oneLine(load.summary())}`,
        );

        expect(records.filter(is5xx)).toEqual([]);
        expect(records.filter((r) => r.failure !== undefined)).toEqual([]);
        const logins = records.filter((r) => r.route === 'login');
        expect(logins.filter((r) => r.status !== 200)).toEqual([]);
        expect(
          countBy(load.between(down, starting), (r) => r.route === 'login'),
        ).toBeGreaterThan(0);
        expect(duringOutage.length).toBeGreaterThan(5);
        for (const probe of duringOutage) {
          expect(probe.status).toBe(200);
          expect(probe.body.status).toBe('degraded');
          expect(probe.body.details?.redis?.status).not.toBe('up');
          expect(probe.body.details?.database?.status).toBe('up');
        }
        // One line for the loss, whatever ioredis retries meanwhile (the return is logged at info).
        const log = logSince(instance, logFrom);
        expect(log.match(/Redis unreachable/g)).toHaveLength(1);
        const metrics = await (await fetch(`${instance.base}/metrics`)).text();
        expect(metrics).toMatch(/^redis_up 1$/m);
      }),
    60_000,
  );

  it(
    'two instances, one killed with SIGKILL mid-refresh: the other serves on, no refresh token is answered twice, no family has two live tokens, and the killed one serves again once restarted',
    () =>
      printingLogsOnFailure(instances, async () => {
        const survivor = a!;
        const port = await freePort();
        b = start('B', port, env, { output: 'capture' });
        await waitUntilReady(b);
        rss.watch('B', b.process.pid);
        const targets: LoadTarget[] = [survivor, b];
        const load = mixedLoad(prepared, () => targets);
        load.start();
        await pause(3_000);
        // Mid-refresh: the kill lands while B holds a refresh it has received. A request only just
        // sent may not have reached B, and one B has answered may still count as in flight here, so
        // B is frozen first and killed only if a refresh is still unanswered a moment later.
        let cut: LoadRecord[] = [];
        for (let attempt = 0; cut.length === 0; attempt++) {
          if (attempt === 20)
            throw new Error('no refresh was ever in flight on B');
          await waitFor(
            'a refresh sent to B 5 ms ago or more',
            () =>
              load
                .inFlightTo('B', 'refresh')
                .some((record) => Date.now() - record.startedAt >= 5)
                ? true
                : undefined,
            5_000,
            1,
          );
          b.process.kill('SIGSTOP');
          await pause(100);
          cut = load.inFlightTo('B', 'refresh');
          if (cut.length === 0) b.process.kill('SIGCONT');
        }
        b.process.kill('SIGKILL');
        const killed = Date.now();
        // The dead instance still gets its share for a while, as before a load balancer notices.
        await pause(2_000);
        targets.splice(targets.indexOf(b), 1);
        await pause(2_000);
        await load.stop();
        postgresRecords.push(...load.records);

        const records = load.records;
        const onA = records.filter((r) => r.target === 'A');
        const onB = records.filter((r) => r.target === 'B');
        console.log(
          `B killed (SIGKILL) with ${cut.length} refresh(es) in flight: ${records.length} requests, ` +
            `on A ${JSON.stringify(load.summary(onA).routes)}, ` +
            `on B ${JSON.stringify(Object.fromEntries(Object.entries(load.summary(onB).routes).map(([route, s]) => [route, s.byStatus])))}, ` +
            `cut refreshes ${JSON.stringify(cut.map((r) => r.failure ?? r.status))}`,
        );

        // The survivor: every request answered, none 5xx.
        expect(onA.filter((r) => r.failure !== undefined || is5xx(r))).toEqual(
          [],
        );
        expect(
          countBy(onA, (r) => r.startedAt > killed && r.status === 200),
        ).toBeGreaterThan(0);
        // The dead one: no 5xx ever; after the kill, only connection failures (refused), never a hang.
        expect(onB.filter(is5xx)).toEqual([]);
        expect(records.filter((r) => r.failure === 'timeout')).toEqual([]);
        expect(
          onB.filter(
            (r) => r.startedAt >= killed && r.failure !== 'connection',
          ),
        ).toEqual([]);
        // The refreshes B held when it died got no answer at all (not a 5xx, not a late 200).
        expect(cut.map((r) => r.failure)).toEqual(cut.map(() => 'connection'));

        // RFC 9700 §4.14.2: a refresh token is exchanged once, whichever instance answered.
        const accepted = new Map<string, number>();
        for (const record of postgresRecords) {
          if (record.route !== 'refresh' || record.status !== 200) continue;
          accepted.set(
            record.presented!,
            (accepted.get(record.presented!) ?? 0) + 1,
          );
        }
        expect([...accepted.values()].filter((times) => times > 1)).toEqual([]);
        // In the database: no session (family) holds two live refresh tokens.
        const client = new pg.Client({ connectionString: postgres!.url });
        await client.connect();
        try {
          const { rows } = await client.query<{
            sessionId: string;
            live: string;
          }>(
            `SELECT t."sessionId", count(*) AS live
             FROM refresh_tokens t JOIN sessions s ON s.id = t."sessionId"
            WHERE t."spentAt" IS NULL AND s."endedAt" IS NULL
              AND t."expiresAt" > now() AND s."expiresAt" > now()
            GROUP BY t."sessionId" HAVING count(*) > 1`,
          );
          expect(rows).toEqual([]);
          const { rows: families } = await client.query<{ count: string }>(
            'SELECT count(*) FROM sessions',
          );
          expect(Number(families[0].count)).toBeGreaterThan(0);
        } finally {
          await client.end();
        }

        // Restarted on the same database (and port), it serves, tokens of A included.
        b = start('B', port, env, { output: 'capture' });
        await waitUntilReady(b);
        rss.watch('B (restarted)', b.process.pid);
        const login = await fetch(`${b.base}/auth/token`, {
          method: 'POST',
          body: new URLSearchParams({
            grant_type: 'password',
            username: prepared.users[0].username,
            password: PASSWORD,
          }),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        expect(login.status).toBe(200);
        const { access_token, refresh_token } = (await json(login)) as {
          access_token: string;
          refresh_token: string;
        };
        const me = await fetch(`${survivor.base}/users/me`, {
          headers: { Authorization: `Bearer ${access_token}` },
        });
        expect(me.status).toBe(200);
        const rotated = await fetch(`${survivor.base}/auth/token`, {
          method: 'POST',
          body: new URLSearchParams({
            grant_type: 'refresh_token',
            refresh_token,
          }),
        });
        expect(rotated.status).toBe(200);
      }),
    60_000,
  );

  /**
   * The file system filling up, on a small tmpfs of the test's own (the
   * next test makes the files read-only).
   */
  it(
    'SQLite on a file system that fills up: writes answer 503, reads 200, nothing 500, and writes succeed again once there is room, in the same process',
    () =>
      printingLogsOnFailure(instances, async () => {
        tmpfs = mkdtempSync(join(tmpdir(), 'auth-faults-sqlite-'));
        try {
          execFileSync(
            'mount',
            ['-t', 'tmpfs', '-o', 'size=32m', 'tmpfs', tmpfs],
            {
              stdio: 'pipe',
            },
          );
          tmpfsMounted = true;
        } catch (error) {
          if (inCi) throw error;
          console.log(
            `The SQLite full-disk test is skipped: mount -t tmpfs failed (${String(error)})`,
          );
          return;
        }
        const instance = start(
          'SQLite',
          await freePort(),
          { ...ENV, DATABASE_URL: `sqlite:${join(tmpfs, 'auth.sqlite')}` },
          { output: 'capture' },
        );
        onSqlite = instance;
        await waitUntilReady(instance);
        rss.watch('SQLite', instance.process.pid);
        const pid = instance.process.pid;
        const logFrom = instance.output.length;
        const load = mixedLoad(
          await prepareMixedLoad(instance.base, LOAD_SETUP),
          () => [instance],
        );
        load.start();
        await pause(3_000);

        const filling = Date.now();
        const filler = join(tmpfs, 'filler');
        const written = await fillUp(filler);
        const full = Date.now();
        const firstRefusal = await waitFor(
          'a write answered 503 once the disk is full',
          () => load.between(full).find((r) => r.status === 503 && isWrite(r)),
          RECOVERY_BOUND_MS,
        );
        await pause(4_000);
        const freeing = Date.now();
        await unlink(filler);
        const freed = Date.now();
        // Each kind of write succeeds again, within the bound.
        const recovered = await writesRecovered(load, freed);
        await pause(1_000);
        await load.stop();

        // Writes came back without a restart.
        expect(instance.process.pid).toBe(pid);
        expect(isRunning(instance)).toBe(true);

        const records = load.records;
        // From the first refusal on, until there is room again: the disk is full.
        const whileFull = load.between(firstRefusal.startedAt, freeing);
        console.log(
          `SQLite disk full (${(written / 2 ** 20).toFixed(1)} MiB filler, ${full - filling} ms to fill): ${records.length} requests, ` +
            `first 503 ${firstRefusal.startedAt + firstRefusal.latencyMs - full} ms after the disk filled, ` +
            `while full: ${oneLine(load.summary(whileFull))}; ` +
            `500 ${countBy(records, (r) => r.status === 500)}, 5xx other than 503 ${countBy(records, (r) => is5xx(r) && r.status !== 503)}, ` +
            `first 2xx after freeing (ms) ${JSON.stringify(recovered)}; ` +
            `log lines by dependencyError ${JSON.stringify(dependencyErrorsSince(instance, logFrom))}; ` +
            `all: ${oneLine(load.summary())}`,
        );

        expect(records.filter((r) => is5xx(r) && r.status !== 503)).toEqual([]);
        expect(withoutRetryAfter(records)).toEqual([]);
        expect(records.filter((r) => r.failure !== undefined)).toEqual([]);
        // From the first refusal until there is room again, writes are
        // refused: all but the odd one that still fits in the pages SQLite's
        // files hold already (2 refreshes of some 1100 writes, seen).
        const writesWhileFull = whileFull.filter(isWrite);
        expect(writesWhileFull.length).toBeGreaterThan(50);
        expect(
          writesWhileFull.filter((r) => r.status !== 503 && r.status >= 300),
        ).toEqual([]);
        expect(
          countBy(writesWhileFull, (r) => r.status !== 503),
        ).toBeLessThanOrEqual(writesWhileFull.length * 0.02);
        await stop(instance);
        await expectEveryLoginStored(join(tmpfs, 'auth.sqlite'), records);
        // Reads need no room: they are answered throughout.
        expect(records.filter((r) => !isWrite(r) && r.status !== 200)).toEqual(
          [],
        );
        expect(countBy(whileFull, (r) => !isWrite(r))).toBeGreaterThan(0);
        const log = logSince(instance, logFrom);
        expect(log).toContain('"dependencyError":"SQLITE_FULL"');
        expect(log).not.toContain('Unhandled error');
      }),
    60_000,
  );

  it(
    "SQLite's files made read-only under load: writes answer 503, reads 200, nothing 500, and writes succeed again once they are writable, in the same process",
    () =>
      printingLogsOnFailure(instances, async () => {
        // chmod would change nothing: an open descriptor keeps the mode it
        // was opened with. The immutable attribute refuses writes through
        // open descriptors too (EPERM), as a file system gone read-only does.
        readOnlyDirectory = mkdtempSync(join(tmpdir(), 'auth-faults-ro-'));
        const database = join(readOnlyDirectory, 'auth.sqlite');
        const instance = start(
          'SQLite read-only',
          await freePort(),
          { ...ENV, DATABASE_URL: `sqlite:${database}` },
          { output: 'capture' },
        );
        onReadOnly = instance;
        await waitUntilReady(instance);
        const pid = instance.process.pid;
        const logFrom = instance.output.length;
        const load = mixedLoad(
          await prepareMixedLoad(instance.base, LOAD_SETUP),
          () => [instance],
        );
        load.start();
        await pause(2_000);

        // The database and its write-ahead log (the -shm is memory SQLite maps).
        const files = [database, `${database}-wal`];
        try {
          execFileSync('chattr', ['+i', ...files], { stdio: 'pipe' });
          immutable.push(...files);
        } catch (error) {
          await load.stop();
          if (inCi) throw error;
          console.log(
            `The SQLite read-only test is skipped: chattr +i failed (${String(error)})`,
          );
          return;
        }
        const readOnlyAt = Date.now();
        const firstRefusal = await waitFor(
          'a write answered 503 once the files are read-only',
          () =>
            load
              .between(readOnlyAt)
              .find((r) => r.status === 503 && isWrite(r)),
          RECOVERY_BOUND_MS,
        );
        await pause(3_000);
        const restoring = Date.now();
        execFileSync('chattr', ['-i', ...files]);
        immutable.splice(0);
        const writable = Date.now();
        const recovered = await writesRecovered(load, writable);
        await pause(1_000);
        await load.stop();

        expect(instance.process.pid).toBe(pid);
        expect(isRunning(instance)).toBe(true);
        const records = load.records;
        const whileReadOnly = load.between(firstRefusal.startedAt, restoring);
        console.log(
          `SQLite read-only (chattr +i): ${records.length} requests, ` +
            `first 503 ${firstRefusal.startedAt + firstRefusal.latencyMs - readOnlyAt} ms after, ` +
            `while read-only: ${oneLine(load.summary(whileReadOnly))}; ` +
            `500 ${countBy(records, (r) => r.status === 500)}, ` +
            `first 2xx once writable (ms) ${JSON.stringify(recovered)}`,
        );
        expect(records.filter((r) => is5xx(r) && r.status !== 503)).toEqual([]);
        expect(withoutRetryAfter(records)).toEqual([]);
        expect(records.filter((r) => r.failure !== undefined)).toEqual([]);
        const writesWhileReadOnly = whileReadOnly.filter(isWrite);
        expect(writesWhileReadOnly.length).toBeGreaterThan(50);
        expect(writesWhileReadOnly.filter((r) => r.status !== 503)).toEqual([]);
        expect(records.filter((r) => !isWrite(r) && r.status !== 200)).toEqual(
          [],
        );
        expect(countBy(whileReadOnly, (r) => !isWrite(r))).toBeGreaterThan(0);

        await stop(instance);
        await expectEveryLoginStored(database, records);
        const log = logSince(instance, logFrom);
        expect(log).toMatch(
          /"dependencyError":"SQLITE_(IOERR|READONLY)[A-Z_]*"/,
        );
        expect(log).not.toContain('Unhandled error');
      }),
    60_000,
  );

  /**
   * RSS, sampled every second on every instance throughout: a leak that
   * grows with the requests served would show as a steady climb. Node's
   * RSS rises fast while V8 sizes its heaps to the load (A: from about 160
   * to 235 MiB in its first 10 s) and then levels off, so the first
   * RSS_WARM_UP_MS are not judged. The median of the last RSS_WINDOW_MS
   * (a median: one GC's spike or drop does not move it) must stay within
   * 1.5× the median of the RSS_WINDOW_MS after warm-up; seen: 1.2× (236 to
   * 285 MiB). The bound leaves V8 room to grow its old space, which it
   * does in steps and seldom gives back, so it is not flaky; in exchange it
   * catches only a gross leak: over the ~9,000 requests A serves between
   * the two windows, one of more than ~13 KiB a request (a record kept per
   * request, a listener added per connection). A slower one is for a soak
   * run of the same load. Only a series long enough for both windows is
   * judged: A, which lives through the three PostgreSQL tests.
   */
  it('the RSS of each instance levels off: no unbounded growth across the faults', () => {
    rss.stop();
    const window = (series: RssSeries, from: number, to: number) =>
      median(
        series.samples
          .filter(([at]) => at >= from && at < to)
          .map(([, kb]) => kb),
      );
    const judged: RssSeries[] = [];
    for (const series of rss.series) {
      const end = series.samples.at(-1)?.[0] ?? 0;
      const kb = series.samples.map(([, value]) => value);
      const long = end >= RSS_WARM_UP_MS + 2 * RSS_WINDOW_MS;
      if (long) judged.push(series);
      console.log(
        `RSS of ${series.name} (pid ${series.pid}) over ${(end / 1000).toFixed(0)} s: ` +
          `first ${mib(kb[0])}, max ${mib(Math.max(...kb))}` +
          (long
            ? `, median after warm-up ${mib(window(series, RSS_WARM_UP_MS, RSS_WARM_UP_MS + RSS_WINDOW_MS))}, ` +
              `median of the last ${RSS_WINDOW_MS / 1000} s ${mib(window(series, end - RSS_WINDOW_MS, Infinity))}`
            : ' (too short to judge)'),
      );
    }
    expect(judged.map((series) => series.name)).toContain('A');
    for (const series of judged) {
      const end = series.samples.at(-1)![0];
      const baseline = window(
        series,
        RSS_WARM_UP_MS,
        RSS_WARM_UP_MS + RSS_WINDOW_MS,
      );
      const last = window(series, end - RSS_WINDOW_MS, Infinity);
      expect(last).toBeLessThanOrEqual(1.5 * baseline);
    }
  });
});

const RSS_WARM_UP_MS = 10_000;
const RSS_WINDOW_MS = 10_000;

const mib = (kb: number) => `${(kb / 1024).toFixed(0)} MiB`;

const isWrite = (record: LoadRecord) =>
  record.route === 'login' ||
  record.route === 'refresh' ||
  record.route === 'register';

/**
 * Waits until each kind of write has succeeded again since `since`, within
 * RECOVERY_BOUND_MS; how long each took, in ms.
 */
async function writesRecovered(
  load: MixedLoad,
  since: number,
): Promise<Record<string, number>> {
  const recovered: Record<string, number> = {};
  for (const route of ['login', 'refresh', 'register'] as const) {
    const first = await waitFor(
      `a ${route} answered 2xx again`,
      () =>
        load.between(since).find((r) => r.route === route && r.status < 300),
      RECOVERY_BOUND_MS,
    );
    recovered[route] = first.startedAt + first.latencyMs - since;
  }
  return recovered;
}

/**
 * Every write answered 2xx is stored: one session per login that succeeded
 * (and the administrator's), read by another connection once the process
 * has stopped.
 */
async function expectEveryLoginStored(
  databaseFile: string,
  records: readonly LoadRecord[],
): Promise<void> {
  const stored = new DataSource({
    type: 'better-sqlite3',
    database: databaseFile,
    readonly: true,
  });
  await stored.initialize();
  try {
    const [{ sessions }] = await stored.query<{ sessions: number }[]>(
      'SELECT count(*) AS sessions FROM sessions',
    );
    expect(sessions).toBe(
      countBy(records, (r) => r.route === 'login' && r.status === 200) + 1,
    );
  } finally {
    await stored.destroy();
  }
}

/** Writes zeros to `path` until the file system is full (ENOSPC); the bytes written. */
async function fillUp(path: string): Promise<number> {
  const file = await open(path, 'w');
  let written = 0;
  try {
    for (const size of [2 ** 20, 2 ** 12]) {
      const chunk = Buffer.alloc(size);
      for (;;) {
        try {
          written += (await file.write(chunk)).bytesWritten;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw error;
        }
      }
    }
  } finally {
    await file.close();
  }
  return written;
}
