import { randomBytes } from 'node:crypto';

/**
 * A mixed load on running instances, as real clients would make it: each
 * worker (an async loop, one user of its own) logs in with the password
 * grant, rotates the refresh token it holds, reads /users/me with its
 * access token, has a confidential client introspect that token, and now
 * and then registers a new user. Every request is recorded, so that a test
 * can say what was answered when, and a refresh token answered twice is
 * visible. Used by the fault suite; written to run for as long as a soak
 * run wants (`start`, then `stop` whenever).
 */

export type Route = 'login' | 'refresh' | 'me' | 'introspect' | 'register';

export const ROUTES: readonly Route[] = [
  'login',
  'refresh',
  'me',
  'introspect',
  'register',
];

/** Where a request may go: picked afresh for each request. */
export interface LoadTarget {
  name: string;
  base: string;
}

export interface LoadRecord {
  worker: number;
  route: Route;
  target: string;
  /** The HTTP status; 0 when no answer came (see `failure`). */
  status: number;
  /** Why no answer came: the connection failed, or the per-request bound passed. */
  failure?: 'connection' | 'timeout';
  /** The error's code for a failure (ECONNREFUSED, UND_ERR_SOCKET…). */
  failureCode?: string;
  retryAfter?: string | null;
  /** Date.now() when the request was sent. */
  startedAt: number;
  latencyMs: number;
  /** Refreshes: the refresh token presented, and the one answered (on 200). */
  presented?: string;
  returned?: string;
}

export interface LoadOptions {
  /** The instances to spread the load over, read at each request. */
  targets: () => readonly LoadTarget[];
  /** One per worker: each worker logs in as its own user. */
  users: readonly { username: string; password: string }[];
  /** The confidential client that introspects the workers' tokens. */
  introspector: { id: string; secret: string };
  /** The bound on one request; a request that takes longer is a `timeout` failure. */
  requestTimeoutMs?: number;
  /** Each worker starts a new session (password grant) every this many rounds. */
  loginEvery?: number;
  /** Each worker registers a user every this many rounds. */
  registerEvery?: number;
  /** The password of the users it registers. */
  registrationPassword: string;
  /**
   * Each record as it is made, instead of keeping it in `records`: a long
   * run would otherwise hold millions, and the garbage collector's work on
   * them would slow the load down as it goes, which would read as the
   * service slowing down.
   */
  onRecord?: (record: LoadRecord) => void;
}

export interface RouteSummary {
  count: number;
  /** Requests by status; `connection` and `timeout` for those never answered. */
  byStatus: Record<string, number>;
  maxLatencyMs: number;
  p99LatencyMs: number;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Held {
  accessToken: string;
  refreshToken: string;
}

export class MixedLoad {
  readonly records: LoadRecord[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly inFlight = new Set<LoadRecord>();
  private readonly timeoutMs: number;
  private readonly loginEvery: number;
  private readonly registerEvery: number;
  private readonly basicAuth: string;

  constructor(private readonly options: LoadOptions) {
    this.timeoutMs = options.requestTimeoutMs ?? 10_000;
    this.loginEvery = options.loginEvery ?? 3;
    this.registerEvery = options.registerEvery ?? 5;
    // RFC 6749 §2.3.1: client_secret_basic, each part form-urlencoded first.
    this.basicAuth = `Basic ${Buffer.from(
      `${encodeURIComponent(options.introspector.id)}:${encodeURIComponent(options.introspector.secret)}`,
    ).toString('base64')}`;
  }

  /** One worker per user, each looping until `stop`. */
  start(): void {
    if (this.running) throw new Error('the load runs already');
    this.running = true;
    this.loops = this.options.users.map((user, worker) =>
      this.work(worker, user),
    );
  }

  /** Ends every loop after its current request, and waits for them. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
  }

  /** The requests of `route` to `target` that are waiting for their answer now. */
  inFlightTo(target: string, route: Route): LoadRecord[] {
    return [...this.inFlight].filter(
      (record) => record.target === target && record.route === route,
    );
  }

  /** The records of the requests sent within [from, to). */
  between(from: number, to = Infinity): LoadRecord[] {
    return this.records.filter(
      (record) => record.startedAt >= from && record.startedAt < to,
    );
  }

  /** Counts by status, max and p99 latency, per route, of `records` (all by default). */
  summary(records: readonly LoadRecord[] = this.records) {
    const routes: Partial<Record<Route, RouteSummary>> = {};
    for (const route of ROUTES) {
      const of = records.filter((record) => record.route === route);
      if (of.length === 0) continue;
      const byStatus: Record<string, number> = {};
      for (const record of of) {
        const key = record.failure ?? String(record.status);
        byStatus[key] = (byStatus[key] ?? 0) + 1;
      }
      const latencies = of
        .map((record) => record.latencyMs)
        .sort((a, b) => a - b);
      routes[route] = {
        count: of.length,
        byStatus,
        maxLatencyMs: latencies.at(-1)!,
        p99LatencyMs: latencies[Math.ceil(latencies.length * 0.99) - 1],
      };
    }
    const latencies = records.map((record) => record.latencyMs);
    return {
      count: records.length,
      maxLatencyMs: latencies.length === 0 ? 0 : Math.max(...latencies),
      routes,
    };
  }

  private async work(
    worker: number,
    user: { username: string; password: string },
  ): Promise<void> {
    let held: Held | undefined;
    for (let round = 0; this.running; round++) {
      // A new session now and then; in between, the one held is refreshed again and again.
      if (held === undefined || round % this.loginEvery === 0) {
        const login = await this.send(worker, 'login', (base) =>
          this.form(base, '/auth/token', {
            grant_type: 'password',
            username: user.username,
            password: user.password,
          }),
        );
        if (login.status === 200) held = tokensOf(login.body);
        else await this.backOff(login.record);
      }
      if (held === undefined || !this.running) continue;

      const presented = held.refreshToken;
      const refresh = await this.send(
        worker,
        'refresh',
        (base) =>
          this.form(base, '/auth/token', {
            grant_type: 'refresh_token',
            refresh_token: presented,
          }),
        { presented },
      );
      if (refresh.status === 200) {
        held = tokensOf(refresh.body);
        refresh.record.returned = held.refreshToken;
      } else if (refresh.status === 400) {
        // Spent elsewhere (a request whose answer was lost) or ended: log in again.
        held = undefined;
        continue;
      } else {
        // 503 or no answer: the token may be live still; keep it and try again later.
        await this.backOff(refresh.record);
      }

      const accessToken = held.accessToken;
      const me = await this.send(worker, 'me', (base) =>
        fetch(`${base}/users/me`, {
          headers: { Authorization: `Bearer ${accessToken}` },
          signal: AbortSignal.timeout(this.timeoutMs),
        }),
      );
      await this.backOff(me.record);

      const introspection = await this.send(worker, 'introspect', (base) =>
        this.form(
          base,
          '/auth/introspect',
          { token: accessToken },
          { Authorization: this.basicAuth },
        ),
      );
      await this.backOff(introspection.record);

      if (round % this.registerEvery === worker % this.registerEvery) {
        const username = `load-${worker}-${randomBytes(6).toString('hex')}`;
        const registration = await this.send(worker, 'register', (base) =>
          fetch(`${base}/users`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({
              username,
              password: this.options.registrationPassword,
            }),
            signal: AbortSignal.timeout(this.timeoutMs),
          }),
        );
        await this.backOff(registration.record);
      }
    }
  }

  /** After a refusal or no answer, a moment's pause, so that a loop does not spin on a dead instance. */
  private async backOff(record: LoadRecord): Promise<void> {
    if (record.status === 0 || record.status >= 500) await pause(25);
  }

  private form(
    base: string,
    path: string,
    form: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    return fetch(`${base}${path}`, {
      method: 'POST',
      headers,
      body: new URLSearchParams(form),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
  }

  private async send(
    worker: number,
    route: Route,
    request: (base: string) => Promise<Response>,
    extra: Partial<LoadRecord> = {},
  ): Promise<{ status: number; body: unknown; record: LoadRecord }> {
    const targets = this.options.targets();
    const target = targets[Math.floor(Math.random() * targets.length)];
    const startedAt = Date.now();
    const record: LoadRecord = {
      worker,
      route,
      target: target.name,
      status: 0,
      startedAt,
      latencyMs: 0,
      ...extra,
    };
    this.inFlight.add(record);
    let body: unknown;
    try {
      const response = await request(target.base);
      // The whole body, within the same bound: an answer that stops half-way is no answer.
      const text = await response.text();
      record.status = response.status;
      record.retryAfter = response.headers.get('retry-after');
      body = parseJson(text);
    } catch (error) {
      const { failure, code } = failureOf(error);
      record.failure = failure;
      record.failureCode = code;
    } finally {
      record.latencyMs = Date.now() - startedAt;
      this.inFlight.delete(record);
      if (this.options.onRecord === undefined) this.records.push(record);
      else this.options.onRecord(record);
    }
    return { status: record.status, body, record };
  }
}

function tokensOf(body: unknown): Held {
  const { access_token, refresh_token } = body as {
    access_token: string;
    refresh_token: string;
  };
  return { accessToken: access_token, refreshToken: refresh_token };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** AbortSignal.timeout ends a fetch with a TimeoutError; undici's connection errors come as a TypeError with a cause. */
function failureOf(error: unknown): {
  failure: 'connection' | 'timeout';
  code: string;
} {
  if (error instanceof Error && error.name === 'TimeoutError') {
    return { failure: 'timeout', code: 'TimeoutError' };
  }
  const cause = (error as { cause?: { code?: string; name?: string } }).cause;
  return {
    failure: 'connection',
    code: cause?.code ?? cause?.name ?? String(error),
  };
}

/** What the load needs, made by `prepareMixedLoad`. */
export type PreparedLoad = Pick<LoadOptions, 'users' | 'introspector'>;

/** Throws unless the answer has the status the setup needs. */
async function expectStatus(
  what: string,
  response: Response,
  status: number,
): Promise<void> {
  if (response.status !== status) {
    throw new Error(
      `${what} answered ${response.status}: ${await response.text()}`,
    );
  }
}

/**
 * What the load needs on a fresh database: one user per worker, and the
 * confidential client (a resource server) that introspects their tokens,
 * registered by the administrator the instance seeded (ADMIN_USERNAME).
 */
export async function prepareMixedLoad(
  base: string,
  {
    admin,
    workers,
    password,
  }: {
    admin: { username: string; password: string };
    workers: number;
    password: string;
  },
): Promise<PreparedLoad> {
  const token = await fetch(`${base}/auth/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'password',
      username: admin.username,
      password: admin.password,
    }),
  });
  await expectStatus("the administrator's login", token, 200);
  const { access_token } = (await token.json()) as { access_token: string };
  const created = await fetch(`${base}/clients`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${access_token}`,
      'Content-Type': 'application/json',
    },
    body: JSON.stringify({
      name: 'resource-server',
      allowedScopes: [],
      allowedGrantTypes: [],
    }),
  });
  await expectStatus('POST /clients', created, 201);
  const client = (await created.json()) as { id: string; clientSecret: string };
  const users = Array.from({ length: workers }, (_, worker) => ({
    username: `worker-${worker}`,
    password,
  }));
  for (const user of users) {
    const registered = await fetch(`${base}/users`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(user),
    });
    await expectStatus(`registering ${user.username}`, registered, 201);
  }
  return {
    users,
    introspector: { id: client.id, secret: client.clientSecret },
  };
}
