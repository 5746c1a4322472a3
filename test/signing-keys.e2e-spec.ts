import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  exportJWK,
  jwtVerify,
} from 'jose';
import type { KeyObject } from 'node:crypto';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { SigningKey } from '../src/oauth/keys/signing-key.entity.js';
import { passwordGrant, registerUser } from './utils/flows.js';
import { jwksOf } from './utils/tokens.js';
import type { TestApp } from './utils/test-app.js';
import {
  createTestApp,
  createTestDatabase,
  TEST_PUBLIC_URL,
} from './utils/test-app.js';

/** RFC 7518 §6.3.2: the private members of an RSA JWK. */
const RSA_PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'];

/** Starting apps and generating RSA keys takes a few seconds. */
const SLOW = 30_000;

const storedKeyCount = (testApp: TestApp) =>
  testApp.app.get(DataSource).getRepository(SigningKey).count();

/** A registered user's access token, and its `kid`. */
async function tokenFrom(testApp: TestApp, username: string) {
  await registerUser(testApp, username);
  const token = await passwordGrant(testApp, username);
  return { token, kid: decodeProtectedHeader(token).kid };
}

/** RFC 7638 thumbprint of the public half of a key. */
async function thumbprintOf(publicKey: KeyObject): Promise<string> {
  const { kty, n, e } = await exportJWK(publicKey);
  return calculateJwkThumbprint({ kty, n, e }, 'sha256');
}

function rsaKeyPair(modulusLength = 2048) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength,
  });
  return {
    publicKey,
    pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

describe('GET /.well-known/jwks.json', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await createTestApp();
  });
  afterAll(() => testApp.close());

  it('RFC 7517 §5: answers 200 with a JWK Set that verifiers may cache', async () => {
    const response = await testApp
      .http()
      .get('/.well-known/jwks.json')
      .expect(200);

    expect(response.headers['content-type']).toMatch(
      /^application\/(jwk-set\+)?json/,
    );
    expect(response.headers['cache-control']).toMatch(/\bmax-age=\d+\b/);
    expect(response.body).toEqual({ keys: expect.any(Array) });
    expect(response.body.keys.length).toBeGreaterThanOrEqual(1);
  });

  it('RFC 7518 §6.3.1: publishes each key as an RS256 signing key with its public members only', async () => {
    const { keys } = await jwksOf(testApp);

    for (const key of keys) {
      expect(key).toEqual({
        kty: 'RSA',
        kid: expect.any(String),
        alg: 'RS256',
        use: 'sig',
        n: expect.stringMatching(/^[A-Za-z0-9_-]+$/),
        e: expect.stringMatching(/^[A-Za-z0-9_-]+$/),
      });
      for (const member of RSA_PRIVATE_MEMBERS) {
        expect(key).not.toHaveProperty(member);
      }
      // RFC 7518 §3.3: a key of 2048 bits or larger MUST be used with RS256.
      expect(
        Buffer.from(key.n!, 'base64url').length * 8,
      ).toBeGreaterThanOrEqual(2048);
    }
  });

  it('RFC 7638: names each key by its JWK thumbprint', async () => {
    const { keys } = await jwksOf(testApp);

    for (const { kty, n, e, kid } of keys) {
      expect(kid).toBe(await calculateJwkThumbprint({ kty, n, e }, 'sha256'));
    }
  });

  it('publishes the key whose kid the access tokens carry', async () => {
    const { kid } = await tokenFrom(testApp, 'alice');
    const { keys } = await jwksOf(testApp);

    expect(keys.map((key) => key.kid)).toContain(kid);
  });
});

describe('signing keys', () => {
  describe('kept in the database, shared by every instance on it', () => {
    it(
      'a second app on the same database serves the same JWKS and accepts the first app’s tokens',
      async () => {
        const first = await createTestApp();
        const { token, kid } = await tokenFrom(first, 'alice');
        const second = await createTestApp({
          DATABASE_URL: first.databaseUrl,
        });
        try {
          expect(await jwksOf(second)).toEqual(await jwksOf(first));
          expect(await storedKeyCount(second)).toBe(1);

          const response = await second
            .http()
            .get('/users/me')
            .set('Authorization', `Bearer ${token}`)
            .expect(200);
          expect(response.body.username).toBe('alice');

          // And the second app signs with the same key.
          expect((await tokenFrom(second, 'bob')).kid).toBe(kid);
        } finally {
          // The first app created the database and drops it on close: close it last.
          await second.close();
          await first.close();
        }
      },
      SLOW,
    );

    it(
      'two apps starting together on an empty database store exactly one key and publish the same JWKS',
      async () => {
        const { databaseUrl, drop } = await createTestDatabase();
        try {
          const apps = await Promise.all([
            createTestApp({ DATABASE_URL: databaseUrl }),
            createTestApp({ DATABASE_URL: databaseUrl }),
          ]);
          try {
            const [a, b] = apps;
            expect(await storedKeyCount(a)).toBe(1);
            const jwks = await jwksOf(a);
            expect(jwks.keys).toHaveLength(1);
            expect(await jwksOf(b)).toEqual(jwks);
          } finally {
            await Promise.all(apps.map((app) => app.close()));
          }
        } finally {
          await drop();
        }
      },
      SLOW,
    );
  });

  describe('a key from the environment wins', () => {
    it(
      'JWT_PRIVATE_KEY signs the tokens, under its thumbprint, and is in the JWKS',
      async () => {
        const { pem, publicKey } = rsaKeyPair();
        const testApp = await createTestApp({ JWT_PRIVATE_KEY: pem });
        try {
          const { token, kid } = await tokenFrom(testApp, 'alice');

          expect(kid).toBe(await thumbprintOf(publicKey));
          expect((await jwksOf(testApp)).keys).toContainEqual({
            ...(await exportJWK(publicKey)),
            kid,
            alg: 'RS256',
            use: 'sig',
          });
          await jwtVerify(token, publicKey, {
            issuer: TEST_PUBLIC_URL,
            audience: TEST_PUBLIC_URL,
            typ: 'at+jwt',
            algorithms: ['RS256'],
          });
          await testApp
            .http()
            .get('/users/me')
            .set('Authorization', `Bearer ${token}`)
            .expect(200);
        } finally {
          await testApp.close();
        }
      },
      SLOW,
    );

    it(
      'JWT_PRIVATE_KEY wins over a key already stored in the database',
      async () => {
        const first = await createTestApp();
        const storedKid = (await tokenFrom(first, 'alice')).kid;
        const { pem, publicKey } = rsaKeyPair();
        const second = await createTestApp({
          DATABASE_URL: first.databaseUrl,
          JWT_PRIVATE_KEY: pem,
        });
        try {
          const { kid } = await tokenFrom(second, 'bob');

          expect(kid).toBe(await thumbprintOf(publicKey));
          expect(kid).not.toBe(storedKid);
          expect((await jwksOf(second)).keys.map((key) => key.kid)).toContain(
            kid,
          );
        } finally {
          await second.close();
          await first.close();
        }
      },
      SLOW,
    );

    it(
      'JWT_PRIVATE_KEY_FILE signs the tokens with the key in that file',
      async () => {
        const { pem, publicKey } = rsaKeyPair();
        const directory = mkdtempSync(join(tmpdir(), 'auth-e2e-keyfile-'));
        const file = join(directory, 'jwt.pem');
        writeFileSync(file, pem, { mode: 0o600 });
        try {
          const testApp = await createTestApp({ JWT_PRIVATE_KEY_FILE: file });
          try {
            const { kid } = await tokenFrom(testApp, 'alice');
            expect(kid).toBe(await thumbprintOf(publicKey));
          } finally {
            await testApp.close();
          }
        } finally {
          rmSync(directory, { recursive: true, force: true });
        }
      },
      SLOW,
    );
  });

  describe('a bad key from the environment stops the start with a message naming the variable', () => {
    const ecPem = () =>
      generateKeyPairSync('ec', { namedCurve: 'P-256' })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString();

    it.each([
      ['an EC P-256 key', ecPem],
      ['an RSA key of 1024 bits', () => rsaKeyPair(1024).pem],
      ['text that is not a PEM key', () => 'not a private key'],
      [
        'an RSA public key instead of the private one',
        () =>
          rsaKeyPair()
            .publicKey.export({ type: 'spki', format: 'pem' })
            .toString(),
      ],
    ])(
      'JWT_PRIVATE_KEY holding %s',
      async (_case, pem) => {
        await expect(createTestApp({ JWT_PRIVATE_KEY: pem() })).rejects.toThrow(
          /JWT_PRIVATE_KEY/,
        );
      },
      SLOW,
    );

    it(
      'JWT_PRIVATE_KEY_FILE naming a file that does not exist',
      async () => {
        await expect(
          createTestApp({
            JWT_PRIVATE_KEY_FILE: join(tmpdir(), 'no-such-dir', 'jwt.pem'),
          }),
        ).rejects.toThrow(/JWT_PRIVATE_KEY_FILE/);
      },
      SLOW,
    );
  });
});
