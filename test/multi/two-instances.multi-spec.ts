import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomInt, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import pg from 'pg';
import type { Instance } from '../utils/processes.js';
import { freePort, start, stop, waitUntilReady } from '../utils/processes.js';
import type { TestDatabase } from '../utils/test-app.js';
import { createTestDatabase, TEST_DATABASE_URL } from '../utils/test-app.js';

/**
 * Two production builds (`node dist/main.js`) on different ports over one
 * fresh PostgreSQL database and one Redis, as behind a load balancer: any
 * instance serves any request. `npm run test:multi` (it builds first).
 */
const REDIS_URL = process.env.TEST_REDIS_URL || undefined;
const PASSWORD = 'correct horse battery staple';
// One service, one issuer, whichever instance signs.
const PUBLIC_URL = 'http://auth.multi.test';
const TOKEN_LIMIT = 100;
const BACKOFF_THRESHOLD = 3;

function runNode(script: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`${script} exited with ${code}`)),
    );
  });
}

const tokenRequest = (instance: Instance, form: Record<string, string>) =>
  fetch(`${instance.base}/auth/token`, {
    method: 'POST',
    body: new URLSearchParams(form),
  });

async function login(
  instance: Instance,
): Promise<{ access_token: string; refresh_token: string }> {
  const response = await tokenRequest(instance, {
    grant_type: 'password',
    username: 'alice',
    password: PASSWORD,
  });
  expect(response.status).toBe(200);
  return (await response.json()) as {
    access_token: string;
    refresh_token: string;
  };
}

const refresh = (instance: Instance, refreshToken: string) =>
  tokenRequest(instance, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
  });

const register = (instance: Instance, username: string) =>
  fetch(`${instance.base}/users`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });

const me = (instance: Instance, accessToken: string) =>
  fetch(`${instance.base}/users/me`, {
    headers: { Authorization: `Bearer ${accessToken}` },
  });

const jwksOf = async (instance: Instance) =>
  (await (await fetch(`${instance.base}/.well-known/jwks.json`)).json()) as {
    keys: { kid: string }[];
  };

const kidOf = (jwt: string) =>
  (
    JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString()) as {
      kid: string;
    }
  ).kid;

async function eventually<T>(
  assertion: () => Promise<T>,
  timeoutMs = 10_000,
): Promise<T> {
  const started = Date.now();
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      if (Date.now() - started > timeoutMs) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

describe('two instances over one PostgreSQL and one Redis', () => {
  let database: TestDatabase;
  let env: Record<string, string>;
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    // A missing server fails here, never skips: this suite exists to prove them.
    expect(TEST_DATABASE_URL).toMatch(/^postgres/);
    expect(REDIS_URL).toBeDefined();
    expect(existsSync('dist/main.js')).toBe(true);
    database = await createTestDatabase();
    env = {
      DATABASE_URL: database.databaseUrl,
      REDIS_URL: REDIS_URL!,
      PUBLIC_URL,
      BCRYPT_COST: '4',
      // Short, so that B follows a rotation made elsewhere within the test.
      SIGNING_KEYS_REFRESH_SECONDS: '1',
      // The throttling test names its client in X-Forwarded-For; the rest
      // of the file comes from 127.0.0.1, within these limits.
      TRUST_PROXY: 'loopback',
      THROTTLE_TOKEN_LIMIT: String(TOKEN_LIMIT),
      THROTTLE_REGISTRATION_LIMIT: '1000',
      LOGIN_BACKOFF_THRESHOLD: String(BACKOFF_THRESHOLD),
      LOGIN_BACKOFF_BASE_MS: '60000',
    };
    const [portA, portB] = [await freePort(), await freePort()];
    // Started together on the empty database: both run the migrations and look for a key.
    a = start('A', portA, env);
    b = start('B', portB, env);
    await Promise.all([waitUntilReady(a), waitUntilReady(b)]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a, b].filter(Boolean).map(stop));
    await database?.drop();
  });

  it('readiness covers the database and Redis on both', async () => {
    for (const instance of [a, b]) {
      const body = (await (
        await fetch(`${instance.base}/health/ready`)
      ).json()) as { details: Record<string, { status: string }> };
      expect(body.details).toMatchObject({
        database: { status: 'up' },
        redis: { status: 'up' },
      });
    }
  });

  it('started together on an empty database, they store one key and publish the same JWKS', async () => {
    const client = new pg.Client({ connectionString: env.DATABASE_URL });
    await client.connect();
    try {
      const { rows } = await client.query<{ kid: string }>(
        'SELECT kid FROM signing_keys',
      );
      expect(rows).toHaveLength(1);
      const jwks = await jwksOf(a);
      expect(jwks.keys.map((key) => key.kid)).toEqual([rows[0].kid]);
      expect(await jwksOf(b)).toEqual(jwks);
    } finally {
      await client.end();
    }
  });

  it('two registrations of one name, on A and B at once: one 201, one 409', async () => {
    for (const username of ['alice', 'bob', 'carol', 'dave', 'erin']) {
      const statuses = (
        await Promise.all([register(a, username), register(b, username)])
      ).map((response) => response.status);
      expect(statuses.sort()).toEqual([201, 409]);
    }
  });

  it('an access token issued by A is accepted by B', async () => {
    const { access_token } = await login(a);
    const response = await me(b, access_token);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { username: string }).username).toBe(
      'alice',
    );
  });

  it('RFC 9700 §4.14.2: a refresh token rotated on A is spent on B, and presenting it there ends the family', async () => {
    const first = await login(a);
    const rotated = await refresh(a, first.refresh_token);
    expect(rotated.status).toBe(200);
    const { refresh_token: successor } = (await rotated.json()) as {
      refresh_token: string;
    };

    const replay = await refresh(b, first.refresh_token);
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: 'invalid_grant' });
    expect((await refresh(a, successor)).status).toBe(400);
  });

  it('concurrent refreshes of one token on A and B: exactly one wins, and the reuse ends the family', async () => {
    for (let round = 0; round < 10; round++) {
      const { refresh_token } = await login(a);
      const responses = await Promise.all([
        refresh(a, refresh_token),
        refresh(b, refresh_token),
      ]);
      expect(responses.map((response) => response.status).sort()).toEqual([
        200, 400,
      ]);
      const winner = responses.find((response) => response.status === 200)!;
      const loser = responses.find((response) => response.status === 400)!;
      expect(await loser.json()).toMatchObject({ error: 'invalid_grant' });
      const { refresh_token: successor } = (await winner.json()) as {
        refresh_token: string;
      };
      expect((await refresh(a, successor)).status).toBe(400);
      expect((await refresh(b, successor)).status).toBe(400);
    }
  }, 60_000);

  it('a client assertion used at A is refused at B: its jti is remembered in the shared database', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const clientId = `svc_multi_${randomBytes(6).toString('hex')}`;
    const jwks = {
      keys: [{ ...(await exportJWK(publicKey)), kid: 'multi-1', alg: 'ES256' }],
    };
    // Registered in the database directly: the suite has no administrator to do it.
    const client = new pg.Client({ connectionString: env.DATABASE_URL });
    await client.connect();
    try {
      await client.query(
        `INSERT INTO clients (id, name, "secretHash", "allowedScopes", "allowedGrantTypes", jwks)
         VALUES ($1, 'multi', NULL, $2, $3, $4)`,
        [
          clientId,
          ['users:read'],
          ['client_credentials'],
          JSON.stringify(jwks),
        ],
      );
    } finally {
      await client.end();
    }
    const now = Math.floor(Date.now() / 1000);
    const signed = await new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid: 'multi-1' })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(PUBLIC_URL)
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(privateKey);
    const form = {
      grant_type: 'client_credentials',
      client_assertion_type:
        'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: signed,
    };
    expect((await tokenRequest(a, form)).status).toBe(200);
    const replayed = await tokenRequest(b, form);
    expect(replayed.status).toBe(401);
    expect(await replayed.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('a browser signed in at A is signed in at B, and a code issued by B is redeemed at A once, however the two race', async () => {
    const clientId = `svc_multi_${randomBytes(6).toString('hex')}`;
    const redirectUri = 'http://127.0.0.1:4000/callback';
    // Registered in the database directly: the suite has no administrator to do it.
    const client = new pg.Client({ connectionString: env.DATABASE_URL });
    await client.connect();
    try {
      await client.query(
        `INSERT INTO clients (id, name, "secretHash", "allowedScopes", "allowedGrantTypes", "clientType", "redirectUris", "firstParty")
         VALUES ($1, 'multi-native', NULL, $2, $3, 'public', $4, true)`,
        [
          clientId,
          ['profile'],
          ['authorization_code', 'refresh_token'],
          JSON.stringify([redirectUri]),
        ],
      );
    } finally {
      await client.end();
    }
    const cookies = new Map<string, string>();
    const browse = async (
      instance: Instance,
      path: string,
      form?: Record<string, string>,
    ) => {
      const response = await fetch(`${instance.base}${path}`, {
        method: form === undefined ? 'GET' : 'POST',
        redirect: 'manual',
        headers: {
          cookie: [...cookies]
            .map(([name, value]) => `${name}=${value}`)
            .join('; '),
        },
        body: form === undefined ? undefined : new URLSearchParams(form),
      });
      for (const line of response.headers.getSetCookie()) {
        const [pair] = line.split(';');
        const separator = pair.indexOf('=');
        cookies.set(pair.slice(0, separator), pair.slice(separator + 1));
      }
      return response;
    };
    const verifier = randomBytes(32).toString('base64url');
    const authorize = `/auth/authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString()}`;
    const loginPage = await (
      await browse(a, `/login?return=${encodeURIComponent(authorize)}`)
    ).text();
    const csrf = /name="csrf"\s+value="([^"]+)"/.exec(loginPage)![1];
    const signedIn = await browse(a, '/login', {
      csrf,
      return: authorize,
      username: 'alice',
      password: PASSWORD,
    });
    expect(signedIn.status).toBe(303);
    const redirected = await browse(b, authorize);
    expect(redirected.status).toBe(302);
    const code = new URL(redirected.headers.get('location')!).searchParams.get(
      'code',
    )!;
    const form = {
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
      client_id: clientId,
    };
    const statuses = await Promise.all([
      tokenRequest(a, form),
      tokenRequest(b, form),
    ]);
    expect(statuses.map((response) => response.status).sort()).toEqual([
      200, 400,
    ]);
    const again = await tokenRequest(a, form);
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('RFC 9449 §11.1: a DPoP proof used at A is refused at B, at the token endpoint and at /users/me', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    const proof = (htm: string, htu: string, claims: object = {}) =>
      new SignJWT({ htm, htu, jti: randomUUID(), ...claims })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
        .setIssuedAt()
        .sign(privateKey);
    const form = {
      grant_type: 'password',
      username: 'alice',
      password: PASSWORD,
    };
    const withProof = (instance: Instance, dpop: string) =>
      fetch(`${instance.base}/auth/token`, {
        method: 'POST',
        headers: { DPoP: dpop },
        body: new URLSearchParams(form),
      });

    const tokenProof = await proof('POST', `${PUBLIC_URL}/auth/token`);
    const granted = await withProof(a, tokenProof);
    expect(granted.status).toBe(200);
    const { access_token, token_type } = (await granted.json()) as {
      access_token: string;
      token_type: string;
    };
    expect(token_type).toBe('DPoP');
    const replayed = await withProof(b, tokenProof);
    expect(replayed.status).toBe(400);
    expect(await replayed.json()).toMatchObject({
      error: 'invalid_dpop_proof',
    });

    const ath = createHash('sha256').update(access_token).digest('base64url');
    const meProof = await proof('GET', `${PUBLIC_URL}/users/me`, { ath });
    const meWith = (instance: Instance) =>
      fetch(`${instance.base}/users/me`, {
        headers: { Authorization: `DPoP ${access_token}`, DPoP: meProof },
      });
    expect((await meWith(a)).status).toBe(200);
    const replayedAtB = await meWith(b);
    expect(replayedAtB.status).toBe(401);
    expect(replayedAtB.headers.get('www-authenticate')).toMatch(
      /^DPoP .*error="invalid_dpop_proof"/,
    );
  });

  it('a key rotated with keys:rotate signs A’s new tokens, is served in B’s JWKS, and B accepts them', async () => {
    const output = await runNode('dist/cli/rotate-signing-key.js', env);
    const kid = /kid (\S+),/.exec(output)?.[1];
    expect(kid).toBeDefined();

    await eventually(async () => {
      expect((await jwksOf(b)).keys.map((key) => key.kid)).toContain(kid);
      expect(await jwksOf(b)).toEqual(await jwksOf(a));
    });
    const token = await eventually(async () => {
      const { access_token } = await login(a);
      expect(kidOf(access_token)).toBe(kid);
      return access_token;
    });
    expect((await me(b, token)).status).toBe(200);
  }, 30_000);

  it('the login throttle counts attempts across both: per username, and per client address', async () => {
    // Names and addresses of their own per run: Redis outlives the test.
    const username = `mallory-${randomBytes(6).toString('hex')}`;
    const guess = (instance: Instance) =>
      tokenRequest(instance, {
        grant_type: 'password',
        username,
        password: 'a wrong guess',
      });
    for (let attempt = 0; attempt < BACKOFF_THRESHOLD; attempt++) {
      expect((await guess(attempt % 2 === 0 ? a : b)).status).toBe(400);
    }
    for (const instance of [a, b]) {
      const held = await guess(instance);
      expect(held.status).toBe(429);
      expect(Number(held.headers.get('retry-after'))).toBeGreaterThan(50);
    }

    const clientIp = `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
    const fromClient = (instance: Instance) =>
      fetch(`${instance.base}/auth/token`, {
        method: 'POST',
        headers: { 'X-Forwarded-For': clientIp },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: 'not a refresh token',
        }),
      });
    const statuses = await Promise.all(
      Array.from({ length: TOKEN_LIMIT }, (_, i) =>
        fromClient(i % 2 === 0 ? a : b).then((response) => response.status),
      ),
    );
    expect(statuses.every((status) => status === 400)).toBe(true);
    expect((await fromClient(a)).status).toBe(429);
    expect((await fromClient(b)).status).toBe(429);
  });
});
