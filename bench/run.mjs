// `npm run bench`: the production build against the hardware's own limits,
// in one run on one machine (issue 7). Figures are medians of rounds, each
// measurement after a warm-up. `--smoke` (or BENCH_SMOKE=1) runs every step
// for a moment only, to prove the script works: its figures mean nothing.
// `--no-build` reuses dist/ as it is.
import autocannon from 'autocannon';
import bcrypt from 'bcrypt';
import Database from 'better-sqlite3';
import { execSync, spawn } from 'node:child_process';
import {
  generateKeyPairSync,
  randomUUID,
  sign as signWith,
  verify as verifyWith,
} from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const smoke =
  process.argv.includes('--smoke') || process.env.BENCH_SMOKE === '1';
const build = !process.argv.includes('--no-build');

const BCRYPT_COST = 12;
const CORES = availableParallelism();
/** A port nobody listens on now: CI may run beside other services. */
const SERVICE_PORT = await new Promise((resolve, reject) => {
  const probe = createServer();
  probe.once('error', reject);
  probe.listen(0, '127.0.0.1', () => {
    const { port } = probe.address();
    probe.close(() => resolve(port));
  });
});
const PASSWORD = 'bench correct horse battery staple';
/** The connection count for the /users/me targets. */
const ME_CONNECTIONS = 50;
/** Enough logins in flight to keep every core hashing, and a queue behind them. */
const LOGIN_CONNECTIONS = CORES * 2;
const REFRESH_CONNECTIONS = smoke ? 2 : 10;
const plan = smoke
  ? {
      warmup: 0.3,
      duration: 1,
      rounds: 1,
      starts: 1,
      growth: [1_000],
      signMs: 100,
    }
  : {
      warmup: 3,
      duration: 5,
      rounds: 3,
      starts: 3,
      growth: [1_000, 100_000],
      signMs: 1_000,
    };

const directory = mkdtempSync(join(tmpdir(), 'auth-bench-'));
const databaseFile = join(directory, 'auth.sqlite');
const children = new Set();

const began = performance.now();
function log(message) {
  const seconds = ((performance.now() - began) / 1000).toFixed(1);
  process.stderr.write(`bench: ${seconds.padStart(5)} s ${message}\n`);
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? sorted[middle]
    : (sorted[middle - 1] + sorted[middle]) / 2;
};

function medianOf(rounds) {
  const result = { rounds };
  for (const key of Object.keys(rounds[0])) {
    result[key] = median(rounds.map((round) => round[key]));
  }
  return result;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- processes

/** Starts the production build and resolves once /health/ready answers. */
async function startService() {
  const logFile = openSync(join(directory, 'service.log'), 'a');
  const started = performance.now();
  const child = spawn(process.execPath, [join(root, 'dist/main.js')], {
    cwd: root,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      // Production logging, as deployed: info, one JSON line per request, to a file.
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: String(SERVICE_PORT),
      DATABASE_URL: `sqlite:${databaseFile}`,
      BCRYPT_COST: String(BCRYPT_COST),
      REGISTRATION: 'open',
      METRICS: 'off',
      // All load comes from one IP: the per-IP limits must not cut it.
      THROTTLE_TOKEN_LIMIT: '1000000',
      THROTTLE_REGISTRATION_LIMIT: '1000000',
      THROTTLE_PASSWORD_CHANGE_LIMIT: '1000000',
      // The login storm is one username: its back-off would answer 429s.
      LOGIN_BACKOFF_THRESHOLD: '1000000',
    },
    stdio: ['ignore', logFile, 'pipe'],
  });
  closeSync(logFile);
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  children.add(child);
  child.once('exit', () => children.delete(child));
  serverPids.set(String(SERVICE_PORT), child.pid);
  const base = `http://127.0.0.1:${SERVICE_PORT}`;
  while (performance.now() - started < 20_000) {
    if (child.exitCode !== null)
      throw new Error(`the service exited: ${stderr}`);
    try {
      if ((await fetch(`${base}/health/ready`)).ok) {
        return { child, base, readyMs: performance.now() - started };
      }
    } catch {
      // not listening yet
    }
    await sleep(10);
  }
  throw new Error('the service was not ready within 20 s');
}

async function startFloor() {
  const child = spawn(process.execPath, [join(root, 'bench/floor.mjs')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const line = await new Promise((resolve, reject) => {
    child.stdout.once('data', (chunk) => resolve(String(chunk)));
    child.once('exit', () => reject(new Error('the floor exited')));
  });
  const { port, token } = JSON.parse(line);
  serverPids.set(String(port), child.pid);
  return { child, base: `http://127.0.0.1:${port}`, token };
}

async function stop(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Linux's high-water mark of the process's resident set: its peak RSS. */
function peakRssMb(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]);
    return Number.isFinite(kb) ? kb / 1024 : null;
  } catch {
    return null;
  }
}

// ----------------------------------------------------------------- requests

async function register(base, username) {
  const response = await fetch(`${base}/users`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  if (response.status !== 201)
    throw new Error(`POST /users answered ${response.status}`);
}

const PUBLIC_CLIENT = { Authorization: 'Basic Og==' };
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

async function login(base, username) {
  const response = await fetch(`${base}/auth/token`, {
    method: 'POST',
    headers: PUBLIC_CLIENT,
    body: new URLSearchParams({
      grant_type: 'password',
      username,
      password: PASSWORD,
    }),
  });
  if (response.status !== 200)
    throw new Error(`the password grant answered ${response.status}`);
  return response.json();
}

/** The server process behind each port, whose CPU time a run reads. */
const serverPids = new Map();
const CLOCK_TICKS_PER_SECOND = (() => {
  try {
    return Number(execSync('getconf CLK_TCK', { encoding: 'utf8' })) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU time the process has used, all its threads (Linux). Unlike
 * requests/s, CPU per request barely moves when other work shares the
 * cores, so it still compares the service with the floor on a busy machine.
 */
function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime: fields 14 and 15 of proc(5), 12 and 13 after the name.
    return (
      ((Number(fields[11]) + Number(fields[12])) * 1000) /
      CLOCK_TICKS_PER_SECOND
    );
  } catch {
    return NaN;
  }
}

/** One autocannon run; throughput counts 2xx answers only. */
async function cannon(options, seconds) {
  const pid = serverPids.get(new URL(options.url).port);
  const cpuBefore = cpuMs(pid);
  const result = await autocannon({
    ...options,
    ...(options.amount === undefined ? { duration: seconds } : {}),
  });
  return {
    rps: result['2xx'] / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    cpuMsPerRequest: (cpuMs(pid) - cpuBefore) / result.requests.total,
  };
}

/**
 * Waits until the server stops using CPU: logins cut off at the end of a
 * run still queue bcrypt work, which must not count against the next run.
 */
async function settle(url) {
  const pid = serverPids.get(new URL(url).port);
  for (let tries = 0; tries < 50; tries += 1) {
    const before = cpuMs(pid);
    await sleep(200);
    if (!(cpuMs(pid) - before > 20)) return;
  }
}

/** A warm-up, then the median of `plan.rounds` rounds. */
async function measure(label, options) {
  log(label);
  await cannon(options, plan.warmup);
  const rounds = [];
  for (let round = 0; round < plan.rounds; round += 1) {
    await settle(options.url);
    rounds.push(await cannon(options, plan.duration));
  }
  await settle(options.url);
  return medianOf(rounds);
}

const usersMe = (base, token) => ({
  url: `${base}/users/me`,
  connections: ME_CONNECTIONS,
  headers: { Authorization: `Bearer ${token}` },
});

const passwordGrant = (base, username) => ({
  url: `${base}/auth/token`,
  method: 'POST',
  connections: LOGIN_CONNECTIONS,
  headers: { ...PUBLIC_CLIENT, ...FORM },
  body: new URLSearchParams({
    grant_type: 'password',
    username,
    password: PASSWORD,
  }).toString(),
  // A login waits behind the others for a core: seconds, not a timeout.
  timeout: 60,
});

/**
 * Each refresh spends its token and returns the next, so every request
 * takes a live token from the pool and puts its successor back. A run is
 * a fixed number of requests, all answered before it ends: a request cut
 * off mid-flight would lose its session's token.
 */
function refreshGrant(base, pool) {
  return {
    url: `${base}/auth/token`,
    connections: Math.min(REFRESH_CONNECTIONS, pool.length),
    requests: [
      {
        method: 'POST',
        headers: { ...PUBLIC_CLIENT, ...FORM },
        setupRequest: (request) => ({
          ...request,
          body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(pool.shift() ?? 'none-left')}`,
        }),
        onResponse: (status, body) => {
          if (status === 200) pool.push(JSON.parse(body).refresh_token);
        },
      },
    ],
  };
}

async function measureRefresh(label, base, pool) {
  log(label);
  const options = refreshGrant(base, pool);
  const warmup = await cannon({ ...options, amount: smoke ? 50 : 500 });
  const amount = Math.max(100, Math.round(warmup.rps * plan.duration));
  const rounds = [];
  for (let round = 0; round < plan.rounds; round += 1) {
    rounds.push(await cannon({ ...options, amount }));
  }
  return medianOf(rounds);
}

/** The login storm and, half a second into it, /users/me beside it. */
async function measureDuringStorm(label, storm, probe) {
  log(label);
  const rounds = [];
  for (let round = 0; round < plan.rounds; round += 1) {
    const stormRun = cannon(storm, plan.duration + 1);
    await sleep(500);
    rounds.push(await cannon(probe, plan.duration));
    await stormRun;
    await settle(storm.url);
  }
  return medianOf(rounds);
}

// ------------------------------------------------------ the machine's limits

/**
 * bcrypt.compare through the async API with every core busy: what logins/s
 * can reach. As many compares in flight as the login runs have logins, so
 * that on a shared machine both get the same share of the cores.
 */
async function bcryptCeiling() {
  log('the bcrypt ceiling');
  const hash = await bcrypt.hash(PASSWORD, BCRYPT_COST);
  const compareFor = async (seconds) => {
    let done = 0;
    const until = performance.now() + seconds * 1000;
    const worker = async () => {
      while (performance.now() < until) {
        await bcrypt.compare(PASSWORD, hash);
        done += 1;
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: LOGIN_CONNECTIONS }, worker));
    return { opsPerSecond: done / ((performance.now() - started) / 1000) };
  };
  await compareFor(plan.warmup / 2);
  const rounds = [];
  for (let round = 0; round < plan.rounds; round += 1) {
    rounds.push(await compareFor(plan.duration));
  }
  return { hash, ...medianOf(rounds) };
}

/** The login storm's bcrypt work without the service, until `stopped` resolves. */
async function bcryptLoad(hash, stopped) {
  let running = true;
  void stopped.then(() => (running = false));
  const worker = async () => {
    while (running) await bcrypt.compare(PASSWORD, hash);
  };
  await Promise.all(Array.from({ length: LOGIN_CONNECTIONS }, worker));
}

/** Operations per second of one core, as the service's one event loop signs. */
function perCore(operation) {
  const rounds = [];
  for (let round = 0; round < plan.rounds; round += 1) {
    let done = 0;
    const started = performance.now();
    while (performance.now() - started < plan.signMs) {
      operation();
      done += 1;
    }
    rounds.push(done / ((performance.now() - started) / 1000));
  }
  return median(rounds);
}

function signatureCosts() {
  log('RS256 and ES256 signing and verification with node:crypto');
  const input = Buffer.from('x'.repeat(400));
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsaSignature = signWith('sha256', input, rsa.privateKey);
  const ecSignature = signWith('sha256', input, {
    key: ec.privateKey,
    dsaEncoding: 'ieee-p1363',
  });
  return {
    rs256SignPerSecond: perCore(() =>
      signWith('sha256', input, rsa.privateKey),
    ),
    rs256VerifyPerSecond: perCore(() =>
      verifyWith('sha256', input, rsa.publicKey, rsaSignature),
    ),
    es256SignPerSecond: perCore(() =>
      signWith('sha256', input, {
        key: ec.privateKey,
        dsaEncoding: 'ieee-p1363',
      }),
    ),
    es256VerifyPerSecond: perCore(() =>
      verifyWith(
        'sha256',
        input,
        { key: ec.publicKey, dsaEncoding: 'ieee-p1363' },
        ecSignature,
      ),
    ),
  };
}

// ------------------------------------------------------------------ growth

/**
 * Adds users straight into SQLite with one precomputed hash: bcrypt per
 * user would take hours at cost 12. Their columns copy the registered
 * user's, so the rows look as the service writes them.
 */
function seedUsers(total, template) {
  const database = new Database(databaseFile);
  database.pragma('busy_timeout = 5000');
  const existing = database.prepare('SELECT count(*) AS n FROM users').get().n;
  const insert = database.prepare(
    `INSERT INTO users (id, username, passwordHash, isActive, roles, tokensValidAfter, createdAt, updatedAt)
     VALUES (?, ?, ?, 1, 'user', NULL, ?, ?)`,
  );
  const addAll = database.transaction((count) => {
    for (let index = 0; index < count; index += 1) {
      insert.run(
        randomUUID(),
        `seeded-${existing + index}`,
        template.passwordHash,
        template.createdAt,
        template.updatedAt,
      );
    }
  });
  addAll(total - existing);
  database.close();
  return `seeded-${total - 1}`;
}

// -------------------------------------------------------------------- report

/**
 * What says the script itself is broken, whatever the machine's speed: a
 * measurement with no successful answer, or with failed ones.
 */
function brokenMeasurements(results) {
  const answered = {
    'floor /users/me': results.floor,
    '/users/me': results.usersMe,
    '/users/me during the storm': results.storm,
    'refresh grant': results.refresh,
    ...Object.fromEntries(
      results.growth.map((growth) => [
        `/users/me with ${growth.users} users`,
        growth.usersMe,
      ]),
    ),
  };
  const problems = Object.entries(answered)
    .filter(([, result]) => !(result.rps > 0))
    .map(([name]) => `${name}: no successful answer`);
  const all = { ...answered, 'password grant': results.login };
  for (const [name, result] of Object.entries(all)) {
    if (result.errors > 0) problems.push(`${name}: ${result.errors} errors`);
  }
  return problems;
}

const ms = (value) => `${value.toFixed(1)} ms`;
const cpu = (milliseconds) =>
  Number.isFinite(milliseconds)
    ? `${Math.round(milliseconds * 1000)} µs`
    : 'n/a';
const perSecond = (value) =>
  `${value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1)}/s`;
const percent = (value) =>
  Number.isFinite(value) ? `${Math.round(value * 100)} %` : 'n/a';

function verdict(met, by) {
  return met ? `met (${by})` : `MISSED (${by})`;
}

function report(results) {
  const r = results;
  const rows = [];
  const row = (metric, service, reference, ratio, target) =>
    rows.push([metric, service, reference, ratio, target]);

  const meRatio = r.usersMe.rps / r.floor.rps;
  row(
    `GET /users/me, ${ME_CONNECTIONS} conn: req/s`,
    perSecond(r.usersMe.rps),
    `floor ${perSecond(r.floor.rps)}`,
    percent(meRatio),
    verdict(meRatio >= 0.6, `≥ 60 %`),
  );
  row(
    'GET /users/me: p50 / p99',
    `${ms(r.usersMe.p50)} / ${ms(r.usersMe.p99)}`,
    `floor ${ms(r.floor.p50)} / ${ms(r.floor.p99)}`,
    `${(r.usersMe.p99 / r.floor.p99).toFixed(1)}× p99`,
    verdict(r.usersMe.p99 <= 25, 'p99 ≤ 25 ms'),
  );
  row(
    'GET /users/me: CPU per request (all threads)',
    cpu(r.usersMe.cpuMsPerRequest),
    `floor ${cpu(r.floor.cpuMsPerRequest)}`,
    percent(r.floor.cpuMsPerRequest / r.usersMe.cpuMsPerRequest),
    'ratio as req/s on idle cores',
  );
  row(
    'GET /users/me: errors (median per round)',
    String(r.usersMe.errors),
    `floor ${r.floor.errors}`,
    '',
    '',
  );
  const loginRatio = r.login.rps / r.bcrypt.opsPerSecond;
  row(
    `POST /auth/token password, ${LOGIN_CONNECTIONS} conn: logins/s`,
    perSecond(r.login.rps),
    `bcrypt ceiling ${perSecond(r.bcrypt.opsPerSecond)}`,
    percent(loginRatio),
    verdict(loginRatio >= 0.9, '≥ 90 %'),
  );
  row(
    'password grant: p50 / p99',
    `${ms(r.login.p50)} / ${ms(r.login.p99)}`,
    '',
    '',
    '',
  );
  row(
    'GET /users/me p99 during a login storm',
    ms(r.storm.p99),
    `idle ${ms(r.usersMe.p99)}; floor under bcrypt load ${ms(r.floorUnderLoad.p99)}`,
    `${(r.storm.p99 / r.usersMe.p99).toFixed(1)}× idle`,
    verdict(r.storm.p99 <= 50, 'p99 ≤ 50 ms'),
  );
  row(
    'GET /users/me req/s during a login storm',
    perSecond(r.storm.rps),
    `floor under bcrypt load ${perSecond(r.floorUnderLoad.rps)}`,
    percent(r.storm.rps / r.floorUnderLoad.rps),
    '',
  );
  const refreshRatio = r.refresh.rps / r.signing.rs256SignPerSecond;
  row(
    `POST /auth/token refresh, ${REFRESH_CONNECTIONS} conn: req/s`,
    perSecond(r.refresh.rps),
    `RS256 signing ceiling ${perSecond(r.signing.rs256SignPerSecond)}`,
    percent(refreshRatio),
    verdict(refreshRatio >= 0.6, '≥ 60 %'),
  );
  row(
    'refresh grant: p50 / p99; CPU per request',
    `${ms(r.refresh.p50)} / ${ms(r.refresh.p99)}; ${cpu(r.refresh.cpuMsPerRequest)}`,
    `one RS256 signature ${cpu(1000 / r.signing.rs256SignPerSecond)}`,
    percent(1000 / r.signing.rs256SignPerSecond / r.refresh.cpuMsPerRequest),
    '',
  );
  row(
    'peak RSS of the service',
    r.peakRssMb === null ? 'n/a' : `${r.peakRssMb.toFixed(0)} MB`,
    '',
    '',
    r.peakRssMb === null ? '' : verdict(r.peakRssMb <= 150, '≤ 150 MB'),
  );
  row(
    `cold start to ready (median of ${r.coldStart.startsMs.length})`,
    ms(r.coldStart.medianMs),
    `first start, empty database: ${ms(r.coldStart.firstMs)}`,
    '',
    verdict(r.coldStart.medianMs <= 1500, '≤ 1.5 s'),
  );
  for (const growth of r.growth) {
    row(
      `GET /users/me with ${growth.users.toLocaleString('en-US')} users`,
      perSecond(growth.usersMe.rps),
      `1 user ${perSecond(r.usersMe.rps)}`,
      percent(growth.usersMe.rps / r.usersMe.rps),
      `p99 ${ms(growth.usersMe.p99)}`,
    );
    row(
      `logins with ${growth.users.toLocaleString('en-US')} users`,
      perSecond(growth.login.rps),
      `1 user ${perSecond(r.login.rps)}`,
      percent(growth.login.rps / r.login.rps),
      `p99 ${ms(growth.login.p99)}`,
    );
  }
  const widths = [0, 1, 2, 3, 4].map((column) =>
    Math.max(
      ...rows.map((cells) => cells[column].length),
      ['measure', 'service', 'reference', 'ratio', 'target'][column].length,
    ),
  );
  const line = (cells) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column])).join(' | ')} |`;
  return [
    line(['measure', 'service', 'reference', 'ratio', 'target']),
    line(widths.map((width) => '-'.repeat(width))),
    ...rows.map(line),
  ].join('\n');
}

// ---------------------------------------------------------------------- run

async function main() {
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: CORES,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    date: new Date().toISOString(),
    loadAverageAtStart: loadavg().map((load) => Number(load.toFixed(2))),
  };
  if (build) {
    log('npm run build');
    execSync('npm run build', {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }

  // Cold start: the first on an empty database (migrations, a new RSA key), then restarts.
  const starts = [];
  let service;
  for (let start = 0; start < plan.starts; start += 1) {
    if (service) await stop(service.child);
    service = await startService();
    starts.push(service.readyMs);
  }
  const coldStart = {
    firstMs: starts[0],
    medianMs: median(starts),
    startsMs: starts,
  };
  const { base } = service;

  log('registering and logging in the bench user');
  await register(base, 'bench-user');
  const { access_token: accessToken } = await login(base, 'bench-user');

  const signing = signatureCosts();
  const bcryptLimit = await bcryptCeiling();

  const floor = await startFloor();
  const floorResult = await measure(
    'floor: GET /users/me',
    usersMe(floor.base, floor.token),
  );
  log('floor: GET /users/me under bcrypt load');
  let stopLoad;
  const load = bcryptLoad(
    bcryptLimit.hash,
    new Promise((resolve) => (stopLoad = resolve)),
  );
  const floorUnderLoadRounds = [];
  await sleep(500);
  for (let round = 0; round < plan.rounds; round += 1) {
    floorUnderLoadRounds.push(
      await cannon(usersMe(floor.base, floor.token), plan.duration),
    );
  }
  stopLoad();
  await load;
  await stop(floor.child);

  const usersMeResult = await measure(
    'service: GET /users/me',
    usersMe(base, accessToken),
  );
  const loginResult = await measure(
    'service: password grant',
    passwordGrant(base, 'bench-user'),
  );
  const storm = await measureDuringStorm(
    'service: GET /users/me during a login storm',
    passwordGrant(base, 'bench-user'),
    usersMe(base, accessToken),
  );

  log('logging in the refresh-token sessions');
  const pool = (
    await Promise.all(
      Array.from({ length: REFRESH_CONNECTIONS }, () =>
        login(base, 'bench-user'),
      ),
    )
  ).map((tokens) => tokens.refresh_token);
  const refresh = await measureRefresh('service: refresh grant', base, pool);

  const template = new Database(databaseFile, { readonly: true })
    .prepare(
      "SELECT passwordHash, createdAt, updatedAt FROM users WHERE username = 'bench-user'",
    )
    .get();
  const growth = [];
  for (const users of plan.growth) {
    log(`seeding ${users.toLocaleString('en-US')} users`);
    const username = seedUsers(users, template);
    const tokens = await login(base, username);
    growth.push({
      users,
      username,
      usersMe: await measure(
        `service: GET /users/me, ${users} users`,
        usersMe(base, tokens.access_token),
      ),
      login: await measure(
        `service: password grant, ${users} users`,
        passwordGrant(base, username),
      ),
    });
  }

  const results = {
    smoke,
    machine: {
      ...machine,
      loadAverageAtEnd: loadavg().map((load) => Number(load.toFixed(2))),
    },
    settings: {
      bcryptCost: BCRYPT_COST,
      connections: {
        usersMe: ME_CONNECTIONS,
        login: LOGIN_CONNECTIONS,
        refresh: REFRESH_CONNECTIONS,
      },
      ...plan,
    },
    coldStart,
    peakRssMb: peakRssMb(service.child.pid),
    signing,
    bcrypt: {
      opsPerSecond: bcryptLimit.opsPerSecond,
      rounds: bcryptLimit.rounds,
    },
    floor: floorResult,
    floorUnderLoad: medianOf(floorUnderLoadRounds),
    usersMe: usersMeResult,
    login: loginResult,
    storm,
    refresh,
    growth,
  };
  await stop(service.child);
  results.totalSeconds = (performance.now() - began) / 1000;

  const table = report(results);
  console.log(
    `\n${machine.cpu}, ${CORES} cores, Node ${process.version}, ${machine.date}` +
      `${smoke ? ' (SMOKE: figures mean nothing)' : ''}\n`,
  );
  console.log(table);
  console.log(
    `\nRS256 sign ${perSecond(signing.rs256SignPerSecond)}, verify ${perSecond(signing.rs256VerifyPerSecond)}; ` +
      `ES256 sign ${perSecond(signing.es256SignPerSecond)}, verify ${perSecond(signing.es256VerifyPerSecond)} (one core, node:crypto)`,
  );
  console.log(
    `load average ${machine.loadAverageAtStart.join(' ')} at start, ${results.machine.loadAverageAtEnd.join(' ')} at end; ${results.totalSeconds.toFixed(0)} s in all`,
  );
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  const file = join(
    root,
    'bench/results',
    smoke ? 'smoke.json' : 'latest.json',
  );
  writeFileSync(file, `${JSON.stringify({ ...results, table }, null, 2)}\n`);
  console.log(`written to ${file.slice(root.length + 1)}`);
  const problems = brokenMeasurements(results);
  for (const problem of problems) log(`PROBLEM ${problem}`);
  // A smoke proves the script works; a full run reports its figures whatever they are.
  if (smoke && problems.length > 0) process.exitCode = 1;
}

try {
  await main();
} finally {
  await Promise.all([...children].map(stop));
  rmSync(directory, { recursive: true, force: true });
}
