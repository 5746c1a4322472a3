import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MixedLoad, prepareMixedLoad } from '../faults/mixed-load.js';
import type { LoadRecord } from '../faults/mixed-load.js';
import { median, RssSampler } from '../faults/rss.js';
import type { Instance } from '../utils/processes.js';
import { freePort, start, stop, waitUntilReady } from '../utils/processes.js';
import type { TestDatabase } from '../utils/test-app.js';
import { createTestDatabase, TEST_DATABASE_URL } from '../utils/test-app.js';
import type { SoakMinute } from './plot.js';
import { soakChart } from './plot.js';

/**
 * `npm run soak`: the mixed load of the fault suite on one production build
 * for SOAK_MINUTES (10 by default), with nothing failing, to see whether
 * memory and latency stay flat. Not in CI: it takes as long as it takes.
 * On SQLite, or on PostgreSQL with TEST_DATABASE_URL. Writes its minutes to
 * docs/soak/<engine>.json and a chart to docs/soak/<engine>.svg.
 */
const MINUTES = Number(process.env.SOAK_MINUTES ?? 10);
const WORKERS = 8;
const PASSWORD = 'correct horse battery staple';
const ADMIN = { username: 'root', password: 'a long admin passphrase here' };
const ENGINE = TEST_DATABASE_URL === undefined ? 'sqlite' : 'postgres';
/** Growth allowed between the first and the last minute after warm-up. */
const RSS_GROWTH_BOUND = 1.15;

/** utime + stime of a process, in ms (/proc/<pid>/stat, clock ticks of 10 ms). */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /s, '')
    .split(' ');
  // After the command name: state is field 3, utime 14 and stime 15.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe(`a ${MINUTES}-minute soak on ${ENGINE}`, () => {
  let database: TestDatabase;
  let directory: string;
  let instance: Instance;
  const minutes: SoakMinute[] = [];
  /** The records of the minute under way: dropped once it is summed up. */
  let thisMinute: LoadRecord[] = [];
  let total = 0;
  let unanswered = 0;
  let serverErrors = 0;

  beforeAll(
    async () => {
      directory = mkdtempSync(join(tmpdir(), 'auth-soak-'));
      database =
        TEST_DATABASE_URL === undefined
          ? {
              databaseUrl: `sqlite:${join(directory, 'auth.sqlite')}`,
              drop: () => Promise.resolve(),
            }
          : await createTestDatabase();
      instance = start(
        'soak',
        await freePort(),
        {
          DATABASE_URL: database.databaseUrl,
          BCRYPT_COST: '4',
          PUBLIC_URL: 'http://auth.soak.test',
          ADMIN_USERNAME: ADMIN.username,
          ADMIN_PASSWORD: ADMIN.password,
          THROTTLE_TOKEN_LIMIT: '1000000',
          THROTTLE_REGISTRATION_LIMIT: '1000000',
        },
        { output: 'capture' },
      );
      await waitUntilReady(instance);
      const prepared = await prepareMixedLoad(instance.base, {
        admin: ADMIN,
        workers: WORKERS,
        password: PASSWORD,
      });
      const load = new MixedLoad({
        ...prepared,
        targets: () => [instance],
        registrationPassword: PASSWORD,
        onRecord: (record) => {
          thisMinute.push(record);
          total += 1;
          if (record.status === 0) unanswered += 1;
          if (record.status >= 500) serverErrors += 1;
        },
      });
      const rss = new RssSampler();
      rss.watch(instance.name, instance.process.pid);
      const started = Date.now();
      const pid = instance.process.pid!;
      let serviceCpuMs = cpuMsOf(pid);
      let loadCpu = process.cpuUsage();
      load.start();
      for (let minute = 1; minute <= MINUTES; minute++) {
        await pause(started + minute * 60_000 - Date.now());
        const of = thisMinute;
        thisMinute = [];
        const latencies = of
          .map(({ latencyMs }) => latencyMs)
          .sort((a, b) => a - b);
        const rssKb = rss.series[0].samples
          .filter(([at]) => at >= (minute - 1) * 60_000 && at < minute * 60_000)
          .map(([, kb]) => kb);
        const serviceCpuNow = cpuMsOf(pid);
        const loadCpuSpent = process.cpuUsage(loadCpu);
        loadCpu = process.cpuUsage();
        minutes.push({
          serviceCpuUsPerRequest: Math.round(
            ((serviceCpuNow - serviceCpuMs) * 1000) / of.length,
          ),
          loadCpuUsPerRequest: Math.round(
            (loadCpuSpent.user + loadCpuSpent.system) / of.length,
          ),
          minute,
          requests: of.length,
          p99Ms: latencies[Math.ceil(latencies.length * 0.99) - 1] ?? 0,
          rssMaxMb: Math.max(...rssKb) / 1024,
          rssMedianMb: median(rssKb) / 1024,
        });
        serviceCpuMs = serviceCpuNow;
        console.log(
          `soak ${ENGINE} minute ${minute}: ${of.length} requests, p99 ${minutes.at(-1)!.p99Ms} ms, RSS max ${minutes.at(-1)!.rssMaxMb.toFixed(0)} MB, median ${minutes.at(-1)!.rssMedianMb.toFixed(0)} MB; CPU per request: service ${minutes.at(-1)!.serviceCpuUsPerRequest} µs, load ${minutes.at(-1)!.loadCpuUsPerRequest} µs`,
        );
      }
      await load.stop();
      rss.stop();
      writeResults();
    },
    (MINUTES + 2) * 60_000,
  );

  afterAll(async () => {
    if (instance !== undefined) await stop(instance);
    await database?.drop();
    rmSync(directory, { recursive: true, force: true });
  });

  function writeResults() {
    const seconds = MINUTES * 60;
    mkdirSync('docs/soak', { recursive: true });
    writeFileSync(
      `docs/soak/${ENGINE}.json`,
      `${JSON.stringify({ engine: ENGINE, workers: WORKERS, node: process.version, date: new Date().toISOString(), minutes }, null, 2)}\n`,
    );
    writeFileSync(
      `docs/soak/${ENGINE}.svg`,
      soakChart(
        minutes,
        `${ENGINE === 'sqlite' ? 'SQLite' : 'PostgreSQL'}, ${WORKERS} workers of mixed load, Node ${process.version}: ${total} requests, ${(total / seconds).toFixed(0)}/s`,
      ),
    );
  }

  it('answers every request, none with a 5xx, none left hanging', () => {
    expect({ unanswered, serverErrors }).toEqual({
      unanswered: 0,
      serverErrors: 0,
    });
  });

  it('keeps its memory flat: the last minute within 15 % of the second, by their medians', () => {
    // Minute 1 is the warm-up: V8 grows its heap to the load's working set.
    // Medians, not peaks: a peak is where one sample met a garbage collection.
    const second = minutes[1].rssMedianMb;
    const last = minutes.at(-1)!.rssMedianMb;
    expect(last).toBeLessThanOrEqual(second * RSS_GROWTH_BOUND);
  });
});
