import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Instance } from '../utils/processes.js';
import { freePort, start, stop, waitUntilReady } from '../utils/processes.js';

/**
 * What becomes of the requests in flight when the process ends: killed
 * (SIGKILL, a crash, the OOM killer) or asked to stop (SIGTERM, a deploy).
 * Production builds on SQLite files of their own. `npm run test:faults`.
 */

const PASSWORD = 'correct horse battery staple';
const ENV = {
  NODE_ENV: 'production',
  LOG_LEVEL: 'warn',
  BCRYPT_COST: '4',
  PUBLIC_URL: 'http://auth.faults.test',
  THROTTLE_TOKEN_LIMIT: '1000000',
  THROTTLE_REGISTRATION_LIMIT: '1000000',
};
const REQUEST_TIMEOUT_MS = 10_000;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const exitOf = (instance: Instance) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve) => {
      if (instance.process.exitCode !== null || instance.process.signalCode) {
        resolve({
          code: instance.process.exitCode,
          signal: instance.process.signalCode,
        });
      } else {
        instance.process.once('exit', (code, signal) =>
          resolve({ code, signal }),
        );
      }
    },
  );

const register = (instance: Instance, username: string) =>
  fetch(`${instance.base}/users`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });

const login = (instance: Instance, username: string) =>
  fetch(`${instance.base}/auth/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'password',
      username,
      password: PASSWORD,
    }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });

describe('when the process ends with requests in flight (production build, SQLite)', () => {
  let directory: string;
  const started: Instance[] = [];

  beforeAll(() => {
    expect(existsSync('dist/main.js')).toBe(true);
    directory = mkdtempSync(join(tmpdir(), 'auth-faults-ends-'));
  });
  afterAll(async () => {
    await Promise.all(started.map((instance) => stop(instance)));
    rmSync(directory, { recursive: true, force: true });
  });

  async function startOn(file: string, env: Record<string, string> = {}) {
    const instance = start(
      `on ${file}`,
      await freePort(),
      { ...ENV, ...env, DATABASE_URL: `sqlite:${join(directory, file)}` },
      { output: 'capture' },
    );
    started.push(instance);
    await waitUntilReady(instance);
    return instance;
  }

  it('killed with SIGKILL during a registration storm: every registration answered 201 is stored, and the service starts again on the file', async () => {
    const instance = await startOn('storm.sqlite');
    const acknowledged: string[] = [];
    let storming = true;
    const writer = async (worker: number) => {
      for (let n = 0; storming; n++) {
        const username = `storm-${worker}-${n}`;
        try {
          if ((await register(instance, username)).status === 201) {
            acknowledged.push(username);
          }
        } catch {
          // The answer the kill cut off: not acknowledged, so owed nothing.
          return;
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, worker) => writer(worker));
    await pause(3_000);
    instance.process.kill('SIGKILL');
    expect((await exitOf(instance)).signal).toBe('SIGKILL');
    storming = false;
    await Promise.all(writers);

    const database = new Database(join(directory, 'storm.sqlite'), {
      readonly: true,
    });
    const stored = new Set(
      database
        .prepare<[], { username: string }>('SELECT username FROM users')
        .all()
        .map(({ username }) => username),
    );
    database.close();
    const lost = acknowledged.filter((username) => !stored.has(username));
    console.log(
      `SIGKILL during a registration storm (8 writers, 3 s): ${acknowledged.length} registrations answered 201, ${lost.length} lost`,
    );
    expect(acknowledged.length).toBeGreaterThan(50);
    expect(lost).toEqual([]);

    const restarted = await startOn('storm.sqlite');
    expect((await login(restarted, acknowledged.at(-1)!)).status).toBe(200);
  });

  it('asked to stop (SIGTERM) with logins in flight: every one is answered 200, then the process ends at once, though its clients keep their connections alive', async () => {
    // A real cost, so that the logins are still hashing when the signal comes.
    const instance = await startOn('drain.sqlite', { BCRYPT_COST: '12' });
    // Twelve accounts: twelve logins of one would meet its login back-off.
    const usernames = Array.from({ length: 12 }, (_, n) => `drain-${n}`);
    for (const username of usernames) {
      expect((await register(instance, username)).status).toBe(201);
    }
    const logins = usernames.map((username) =>
      login(instance, username).then(
        (response) => response.status,
        () => 0,
      ),
    );
    await pause(100);
    const exit = exitOf(instance);
    instance.process.kill('SIGTERM');

    const statuses = await Promise.all(logins);
    const answeredAt = Date.now();
    console.log(
      `SIGTERM with 12 logins in flight: statuses ${JSON.stringify(statuses)}`,
    );
    expect(statuses).toEqual(Array(12).fill(200));
    // Without closing the kept-alive connections, 72 s (the keep-alive timeout).
    await Promise.race([exit, pause(5_000)]);
    expect(Date.now() - answeredAt).toBeLessThan(5_000);
    // Nest closes the app, then raises the signal again: the process ends by it, as Unix expects.
    expect(await exit).toEqual({ code: null, signal: 'SIGTERM' });
  });
});
