import { plainToInstance, Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  Validate,
  validateSync,
} from 'class-validator';
import { TrustProxySetting } from './trust-proxy.js';

const LOG_LEVELS = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'verbose',
] as const;

const METRICS_MODES = ['off', 'open', 'bearer'] as const;

const toInt = () => Transform(({ value }: { value: unknown }) => Number(value));

/**
 * Every variable the service reads, with the defaults of the contract
 * (shared/design/API.md). Read it through `ConfigService<Env, true>`.
 */
export class Env {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @toInt()
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @IsString()
  HOST = '0.0.0.0';

  /** `sqlite:<path>`, `sqlite::memory:`, or `postgres://user:password@host:port/database`. */
  @Matches(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, {
    message:
      'DATABASE_URL must be sqlite:<path>, sqlite::memory: or postgres://user:password@host:port/database',
  })
  DATABASE_URL = 'sqlite:./data/auth.sqlite';

  /**
   * PostgreSQL connections each instance keeps open at most. Two at least:
   * the migration lock holds one while the migrations run on another.
   */
  @toInt()
  @IsInt()
  @Min(2)
  @Max(1_000)
  DATABASE_POOL_SIZE = 10;

  /**
   * PostgreSQL: how long a request waits for a connection (a free one from
   * the pool, or a new one to the server) before it is answered 503. A
   * bounded wait: when every connection is busy or the server is away, the
   * client hears so and retries, instead of the request hanging.
   */
  @toInt()
  @IsInt()
  @Min(100)
  @Max(60_000)
  DATABASE_CONNECT_TIMEOUT_MS = 2_000;

  /**
   * PostgreSQL: the longest one statement may run, waiting for locks
   * included (the server's `statement_timeout`); beyond it the statement is
   * cancelled and the request answered 503. 0: no limit. Migrations run
   * without it.
   */
  @toInt()
  @IsInt()
  @Min(0)
  @Max(600_000)
  DATABASE_STATEMENT_TIMEOUT_MS = 5_000;

  /**
   * SQLite: how long a write waits while another process (a CLI command, a
   * second instance on the file) holds the file's write lock, before the
   * request is answered 503 (SQLite's busy timeout). Short: better-sqlite3
   * waits synchronously, so the whole process waits with it.
   */
  @toInt()
  @IsInt()
  @Min(0)
  @Max(60_000)
  DATABASE_BUSY_TIMEOUT_MS = 1_000;

  /**
   * `redis://` or `rediss://`: shared rate-limit counters for several
   * instances, and a readiness check. Unset: the counters stay in memory.
   */
  @IsOptional()
  @Matches(/^rediss?:\/\/.+$/, {
    message: 'REDIS_URL must be redis://host:port or rediss://host:port',
  })
  REDIS_URL?: string;

  /**
   * How often each instance re-reads the signing keys, so that a key
   * rotated by another instance or by `keys:rotate` is used and published.
   */
  @toInt()
  @IsInt()
  @Min(1)
  @Max(3_600)
  SIGNING_KEYS_REFRESH_SECONDS = 60;

  /** The issuer (`iss`) and the base of every URL the service publishes. */
  @IsOptional()
  @IsUrl({
    require_tld: false,
    require_protocol: true,
    protocols: ['http', 'https'],
  })
  @Matches(/[^/]$/, { message: 'PUBLIC_URL must not end with a slash' })
  PUBLIC_URL?: string;

  /** The `aud` of access tokens; defaults to PUBLIC_URL. */
  @IsOptional()
  @IsString()
  @MinLength(1)
  ACCESS_TOKEN_AUDIENCE?: string;

  @toInt()
  @IsInt()
  @Min(60)
  @Max(86_400)
  ACCESS_TOKEN_TTL = 900;

  /** How many verified access tokens each instance remembers (VerifiedTokenCache); 0: none. */
  @toInt()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  ACCESS_TOKEN_CACHE_SIZE = 5_000;

  @toInt()
  @IsInt()
  @Min(300)
  REFRESH_TOKEN_TTL = 1_209_600;

  @toInt()
  @IsInt()
  @Min(4)
  @Max(15)
  BCRYPT_COST = 12;

  @toInt()
  @IsInt()
  @Min(8)
  @Max(64)
  PASSWORD_MIN_LENGTH = 15;

  @IsIn(['open', 'closed'])
  REGISTRATION: 'open' | 'closed' = 'open';

  /**
   * RFC 9700 §2.4: the password grant must not be used. Kept for the
   * clients that still do (Swagger UI's password form among them), and
   * counted per client, so an operator sees who before turning it off.
   */
  @IsIn(['enabled', 'disabled'])
  PASSWORD_GRANT: 'enabled' | 'disabled' = 'enabled';

  /** RFC 8628: how long a device code waits for its user, in seconds. */
  @toInt()
  @IsInt()
  @Min(60)
  @Max(1800)
  DEVICE_CODE_TTL = 600;

  /** RFC 8628 §3.2: the least seconds between two polls of a device code. */
  @toInt()
  @IsInt()
  @Min(1)
  @Max(60)
  DEVICE_CODE_INTERVAL = 5;

  @IsOptional()
  @IsString()
  ADMIN_USERNAME?: string;

  @IsOptional()
  @IsString()
  ADMIN_PASSWORD?: string;

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: (typeof LOG_LEVELS)[number] = 'info';

  /** A PKCS#8 PEM RSA private key; wins over the key stored in the database. */
  @IsOptional()
  @IsString()
  JWT_PRIVATE_KEY?: string;

  /** A file holding JWT_PRIVATE_KEY, for secret mounts. */
  @IsOptional()
  @IsString()
  JWT_PRIVATE_KEY_FILE?: string;

  /** Audit events older than this are removed by the hourly cleanup. */
  @toInt()
  @IsInt()
  @Min(1)
  @Max(36_500)
  AUDIT_RETENTION_DAYS = 365;

  /**
   * Events that repeat in a flood (logins refused by the back-off, failed
   * client authentications) are one audit row per key and window of this
   * many seconds, aligned to the clock, with the repeats counted on it.
   * A week at most: the in-memory counter's timer cannot run longer than
   * 2^31 ms (24.8 days).
   */
  @toInt()
  @IsInt()
  @Min(1)
  @Max(604_800)
  AUDIT_REPEAT_WINDOW_SECONDS = 900;

  /**
   * `GET /metrics`: `off` answers 404; `open` serves anyone who can reach
   * the port; `bearer` wants an access token with `metrics:read`. Off by
   * default: request counts and process details are not for the public.
   */
  @IsIn(METRICS_MODES)
  METRICS: (typeof METRICS_MODES)[number] = 'off';

  /**
   * Whose `X-Forwarded-For` names the client: `false` (nobody: the socket's
   * address is the client), `true` (anyone: only behind a proxy that
   * overwrites the header), a hop count, or the proxies' addresses and CIDRs.
   * Rate limits and the audit log key on the address this yields.
   */
  @Validate(TrustProxySetting)
  TRUST_PROXY = 'false';

  /** Per client IP: password, refresh and client_credentials requests to /auth/token. */
  @toInt()
  @IsInt()
  @Min(1)
  THROTTLE_TOKEN_LIMIT = 60;

  @toInt()
  @IsInt()
  @Min(1)
  THROTTLE_TOKEN_TTL = 60;

  /** Per client IP: registrations (POST /users). */
  @toInt()
  @IsInt()
  @Min(1)
  THROTTLE_REGISTRATION_LIMIT = 20;

  @toInt()
  @IsInt()
  @Min(1)
  THROTTLE_REGISTRATION_TTL = 3600;

  /** Per client IP: password changes (PUT /users/me/password). */
  @toInt()
  @IsInt()
  @Min(1)
  THROTTLE_PASSWORD_CHANGE_LIMIT = 10;

  @toInt()
  @IsInt()
  @Min(1)
  THROTTLE_PASSWORD_CHANGE_TTL = 900;

  /**
   * Per client IP: failed client authentications (a wrong client secret) at
   * /auth/token, /auth/revoke and /auth/introspect. Only failures count: a
   * client that presents its secret is never refused by this limit.
   */
  @toInt()
  @IsInt()
  @Min(1)
  THROTTLE_CLIENT_AUTH_FAILURE_LIMIT = 20;

  /** Per client id, from every address together: failed authentications as that client. */
  @toInt()
  @IsInt()
  @Min(1)
  THROTTLE_CLIENT_AUTH_FAILURE_PER_CLIENT_LIMIT = 100;

  @toInt()
  @IsInt()
  @Min(1)
  THROTTLE_CLIENT_AUTH_FAILURE_TTL = 60;

  /** Failed logins of one username before each further failure makes it wait. */
  @toInt()
  @IsInt()
  @Min(1)
  LOGIN_BACKOFF_THRESHOLD = 5;

  /** The first wait, doubled by each further failure up to LOGIN_BACKOFF_MAX_MS. */
  @toInt()
  @IsInt()
  @Min(1)
  LOGIN_BACKOFF_BASE_MS = 1000;

  @toInt()
  @IsInt()
  @Min(1)
  @Max(86_400_000)
  LOGIN_BACKOFF_MAX_MS = 900_000;

  /**
   * How long the device cookie of a successful password-grant login is
   * kept, in seconds (its Max-Age); each login from the device renews it.
   */
  @toInt()
  @IsInt()
  @Min(60)
  @Max(31_536_000)
  LOGIN_DEVICE_TTL = 7_776_000;

  /**
   * How long an authorization code can be redeemed, in seconds: one
   * redirect and one token request (RFC 6749 §4.1.2 recommends at most
   * 10 minutes; OAuth 2.1 and this service, a minute).
   */
  @toInt()
  @IsInt()
  @Min(1)
  @Max(60)
  AUTHORIZATION_CODE_TTL = 60;

  /**
   * How long the login page's browser session lasts without being used, in
   * seconds; each use moves it forward, up to BROWSER_SESSION_MAX_AGE.
   */
  @toInt()
  @IsInt()
  @Min(60)
  @Max(2_592_000)
  BROWSER_SESSION_TTL = 43_200;

  /** The longest a browser stays signed in, however busy, in seconds. */
  @toInt()
  @IsInt()
  @Min(60)
  @Max(31_536_000)
  BROWSER_SESSION_MAX_AGE = 604_800;
}

/**
 * Validates the raw environment once, at boot. A bad value stops the start
 * with a message naming each variable that is wrong.
 */
export function validateEnv(raw: Record<string, unknown>): Env {
  // An empty variable means "not set", as with `PORT= npm start`: the default applies.
  const given = Object.fromEntries(
    Object.entries(raw).filter(([, value]) => value !== ''),
  );
  const env = plainToInstance(Env, given, { exposeDefaultValues: true });
  const errors = validateSync(env, {
    whitelist: true,
    forbidUnknownValues: true,
  });
  if (errors.length > 0) {
    const lines = errors.map(
      (error) =>
        `  ${error.property}: ${Object.values(error.constraints ?? {}).join('; ')}`,
    );
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  if (
    (env.ADMIN_USERNAME === undefined) !==
    (env.ADMIN_PASSWORD === undefined)
  ) {
    throw new Error(
      'Invalid configuration:\n  ADMIN_USERNAME, ADMIN_PASSWORD: set both or neither',
    );
  }
  if (
    env.JWT_PRIVATE_KEY !== undefined &&
    env.JWT_PRIVATE_KEY_FILE !== undefined
  ) {
    throw new Error(
      'Invalid configuration:\n  JWT_PRIVATE_KEY, JWT_PRIVATE_KEY_FILE: set one, not both',
    );
  }
  if (env.LOGIN_BACKOFF_BASE_MS > env.LOGIN_BACKOFF_MAX_MS) {
    throw new Error(
      'Invalid configuration:\n  LOGIN_BACKOFF_BASE_MS: must not exceed LOGIN_BACKOFF_MAX_MS',
    );
  }
  env.PUBLIC_URL ??= `http://localhost:${env.PORT}`;
  env.ACCESS_TOKEN_AUDIENCE ??= env.PUBLIC_URL;
  return env;
}

/** The environment after defaults: the fields every consumer can rely on. */
export type AppConfig = Env & {
  PUBLIC_URL: string;
  ACCESS_TOKEN_AUDIENCE: string;
};
