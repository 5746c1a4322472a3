import { describe, expect, it } from '@jest/globals';
import { validateEnv } from './env.js';

/** API.md, "Configuration": defaults, and a bad value that names itself. */
describe('validateEnv()', () => {
  it('starts with no configuration at all, on the defaults of the contract', () => {
    expect(validateEnv({})).toMatchObject({
      PORT: 3000,
      HOST: '0.0.0.0',
      DATABASE_URL: 'sqlite:./data/auth.sqlite',
      PUBLIC_URL: 'http://localhost:3000',
      ACCESS_TOKEN_AUDIENCE: 'http://localhost:3000',
      ACCESS_TOKEN_TTL: 900,
      REFRESH_TOKEN_TTL: 1_209_600,
      BCRYPT_COST: 12,
      PASSWORD_MIN_LENGTH: 15,
      REGISTRATION: 'open',
      LOG_LEVEL: 'info',
      AUDIT_RETENTION_DAYS: 365,
      METRICS: 'off',
      TRUST_PROXY: 'false',
      THROTTLE_TOKEN_LIMIT: 60,
      THROTTLE_TOKEN_TTL: 60,
      THROTTLE_REGISTRATION_LIMIT: 20,
      THROTTLE_REGISTRATION_TTL: 3600,
      THROTTLE_PASSWORD_CHANGE_LIMIT: 10,
      THROTTLE_PASSWORD_CHANGE_TTL: 900,
      LOGIN_BACKOFF_THRESHOLD: 5,
      LOGIN_BACKOFF_BASE_MS: 1000,
      LOGIN_BACKOFF_MAX_MS: 900_000,
    });
  });

  it.each(['false', 'true', '2', '10.0.0.0/8', 'loopback, 192.0.2.1, ::1'])(
    'accepts TRUST_PROXY=%s',
    (value) => {
      expect(validateEnv({ TRUST_PROXY: value }).TRUST_PROXY).toBe(value);
    },
  );

  it('refuses a back-off that starts above its own maximum', () => {
    expect(() =>
      validateEnv({
        LOGIN_BACKOFF_BASE_MS: '5000',
        LOGIN_BACKOFF_MAX_MS: '1000',
      }),
    ).toThrow(/LOGIN_BACKOFF_BASE_MS: must not exceed LOGIN_BACKOFF_MAX_MS/);
  });

  it('parses numbers from their string form', () => {
    const env = validateEnv({
      PORT: '8080',
      ACCESS_TOKEN_TTL: '300',
      BCRYPT_COST: '10',
      PASSWORD_MIN_LENGTH: '20',
    });

    expect(env).toMatchObject({
      PORT: 8080,
      ACCESS_TOKEN_TTL: 300,
      BCRYPT_COST: 10,
      PASSWORD_MIN_LENGTH: 20,
    });
  });

  it('derives PUBLIC_URL from PORT when it is not set', () => {
    expect(validateEnv({ PORT: '8080' }).PUBLIC_URL).toBe(
      'http://localhost:8080',
    );
  });

  it('defaults the token audience to PUBLIC_URL', () => {
    const env = validateEnv({ PUBLIC_URL: 'https://auth.example.com' });

    expect(env.ACCESS_TOKEN_AUDIENCE).toBe('https://auth.example.com');
  });

  it('treats an empty PUBLIC_URL as unset (`PUBLIC_URL= npm start`)', () => {
    expect(validateEnv({ PUBLIC_URL: '' }).PUBLIC_URL).toBe(
      'http://localhost:3000',
    );
  });

  // Bug: toInt() turns '' into undefined, meaning "use the default", but
  // plainToInstance then assigns that undefined over the default, and
  // @IsInt() refuses it: `PORT= npm start` fails with "PORT must be an
  // integer number". The same holds for every numeric variable.
  it('treats an empty numeric variable as unset', () => {
    expect(validateEnv({ PORT: '', BCRYPT_COST: '' })).toMatchObject({
      PORT: 3000,
      BCRYPT_COST: 12,
    });
  });

  it.each([
    ['PORT', 'abc'],
    ['BCRYPT_COST', '3'],
    ['BCRYPT_COST', '16'],
    ['PASSWORD_MIN_LENGTH', '7'],
    ['REGISTRATION', 'maybe'],
    ['DATABASE_URL', 'mysql://x'],
    ['PUBLIC_URL', 'not-a-url'],
    ['AUDIT_RETENTION_DAYS', '0'],
    ['AUDIT_RETENTION_DAYS', 'forever'],
    ['METRICS', 'public'],
    ['TRUST_PROXY', 'yes'],
    ['TRUST_PROXY', '10.0.0.0/33'],
    ['TRUST_PROXY', '10.0.0.1,proxy.example'],
    ['THROTTLE_TOKEN_LIMIT', '0'],
    ['LOGIN_BACKOFF_THRESHOLD', 'many'],
    ['DATABASE_POOL_SIZE', '1'],
    ['DATABASE_CONNECT_TIMEOUT_MS', '0'],
    ['DATABASE_STATEMENT_TIMEOUT_MS', '-1'],
    ['DATABASE_BUSY_TIMEOUT_MS', 'long'],
    ['REDIS_URL', 'localhost:6379'],
    ['SIGNING_KEYS_REFRESH_SECONDS', '0'],
  ])('refuses to start with %s=%s, naming the variable', (name, value) => {
    expect(() => validateEnv({ [name]: value })).toThrow(
      new RegExp(`^Invalid configuration:\\n  ${name}: `),
    );
  });

  it('takes a PostgreSQL DATABASE_URL with its pool size, and a REDIS_URL', () => {
    expect(
      validateEnv({
        DATABASE_URL: 'postgres://auth:secret@db:5432/auth',
        DATABASE_POOL_SIZE: '20',
        REDIS_URL: 'redis://redis:6379',
      }),
    ).toMatchObject({
      DATABASE_URL: 'postgres://auth:secret@db:5432/auth',
      DATABASE_POOL_SIZE: 20,
      REDIS_URL: 'redis://redis:6379',
    });
    expect(validateEnv({ DATABASE_URL: 'postgresql://db/auth' })).toMatchObject(
      { DATABASE_POOL_SIZE: 10 },
    );
  });

  it('refuses ADMIN_USERNAME without ADMIN_PASSWORD', () => {
    expect(() => validateEnv({ ADMIN_USERNAME: 'root' })).toThrow(
      /ADMIN_PASSWORD/,
    );
  });

  it('refuses JWT_PRIVATE_KEY together with JWT_PRIVATE_KEY_FILE', () => {
    expect(() =>
      validateEnv({
        JWT_PRIVATE_KEY: 'any value: only that both are set matters',
        JWT_PRIVATE_KEY_FILE: '/run/secrets/jwt.pem',
      }),
    ).toThrow(/JWT_PRIVATE_KEY, JWT_PRIVATE_KEY_FILE: set one, not both/);
  });
});
