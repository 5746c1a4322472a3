import {
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
} from '@jest/globals';
import { getRepositoryToken } from '@nestjs/typeorm';
import { calculateJwkThumbprint, decodeProtectedHeader } from 'jose';
import { createPublicKey, generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import type { Repository } from 'typeorm';
import { SigningKey } from '../src/oauth/keys/signing-key.entity.js';
import { SigningKeysService } from '../src/oauth/keys/signing-keys.service.js';
import { databaseOptions } from '../src/database/database.options.js';
import { entities } from '../src/entities.js';
import { AppDataSource } from '../src/database/app-data-source.js';
import { migrations } from '../src/database/migrations/index.js';
import { passwordGrant, registerUser } from './utils/flows.js';
import type { TestApp, TestDatabase } from './utils/test-app.js';
import { createTestApp, createTestDatabase } from './utils/test-app.js';
import { jwksOf } from './utils/tokens.js';

/** Starting apps and generating RSA keys takes a few seconds. */
const SLOW = 30_000;

const ACCESS_TOKEN_TTL = 300;
/** How long a key outlives its successor's creation (see key-rotation.e2e-spec.ts). */
const RETENTION_MS = (60 + ACCESS_TOKEN_TTL + 60) * 1000;

/** RFC 6750 §3.1: a refused token's challenge names the error. */
const INVALID_TOKEN = /^Bearer realm="[^"]+".*, error="invalid_token"/;

const kidOf = (token: string) => decodeProtectedHeader(token).kid;

const kidsOf = async (testApp: TestApp) =>
  (await jwksOf(testApp)).keys.map((key) => key.kid).sort();

const keyRows = (testApp: TestApp) =>
  testApp.app.get<Repository<SigningKey>>(getRepositoryToken(SigningKey));

const me = (testApp: TestApp, token: string) =>
  testApp.http().get('/users/me').set('Authorization', `Bearer ${token}`);

/** Moves a key's row back in time, as if its key had been first seen that long ago. */
async function ageKey(testApp: TestApp, kid: string, ageMs: number) {
  await keyRows(testApp).update(
    { kid },
    { createdAt: new Date(Date.now() - ageMs) },
  );
}

/** A fresh RSA-2048 private key, as JWT_PRIVATE_KEY holds it. */
async function rsaPem(): Promise<string> {
  const { privateKey } = await promisify(generateKeyPair)('rsa', {
    modulusLength: 2048,
  });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

describe('moving from a stored signing key to JWT_PRIVATE_KEY', () => {
  let database: TestDatabase;
  /** The app of the moment; apps take turns, as Passport's strategies are process-wide. */
  let testApp: TestApp | undefined;
  /** The key each test configures: new to every test's database, so generated once. */
  let pem: string;
  /** alice's token, signed by the stored key before the move. */
  let oldToken: string;
  let storedKid: string;

  /** Closes the app of the moment and starts one on the same database. */
  async function restart(env: Record<string, string> = {}): Promise<TestApp> {
    await testApp?.close();
    testApp = undefined;
    testApp = await createTestApp({
      DATABASE_URL: database.databaseUrl,
      ACCESS_TOKEN_TTL: String(ACCESS_TOKEN_TTL),
      ...env,
    });
    return testApp;
  }

  beforeAll(async () => {
    pem = await rsaPem();
  });
  beforeEach(async () => {
    database = await createTestDatabase();
    const before = await restart();
    await registerUser(before, 'alice');
    oldToken = await passwordGrant(before, 'alice');
    storedKid = kidOf(oldToken)!;
  }, SLOW);
  afterEach(async () => {
    await testApp?.close();
    testApp = undefined;
    await database.drop();
  });

  it(
    'new tokens carry the configured kid; during the overlap the old token still answers 200 and the JWKS lists both kids, once each',
    async () => {
      const app = await restart({ JWT_PRIVATE_KEY: pem });

      const newToken = await passwordGrant(app, 'alice');
      const configuredKid = kidOf(newToken)!;
      expect(configuredKid).not.toBe(storedKid);
      await me(app, newToken).expect(200);

      await ageKey(app, configuredKid, RETENTION_MS - 30_000);
      await app.app.get(SigningKeysService).reload();
      expect((await me(app, oldToken).expect(200)).body.username).toBe('alice');
      expect(await kidsOf(app)).toEqual([storedKid, configuredKid].sort());
    },
    SLOW,
  );

  it(
    'after the overlap the old kid leaves the JWKS, its token answers 401 invalid_token, and its private key is erased from the database',
    async () => {
      const app = await restart({ JWT_PRIVATE_KEY: pem });
      const configuredKid = kidOf(await passwordGrant(app, 'alice'))!;

      await ageKey(app, configuredKid, RETENTION_MS + 1_000);
      await app.app.get(SigningKeysService).reload();

      expect(await kidsOf(app)).toEqual([configuredKid]);
      const response = await me(app, oldToken).expect(401);
      expect(response.headers['www-authenticate']).toMatch(INVALID_TOKEN);
      const rows = await keyRows(app).find({ order: { generation: 'ASC' } });
      expect(
        rows.map(({ kid, generation, privateKey }) => ({
          kid,
          generation,
          privateKey,
        })),
      ).toEqual([
        { kid: storedKid, generation: 1, privateKey: null },
        // The configured key's row never held its private half.
        { kid: configuredKid, generation: 2, privateKey: null },
      ]);
      // The configured key is not affected.
      await me(app, await passwordGrant(app, 'alice')).expect(200);
    },
    SLOW,
  );

  it(
    'a restart keeps the time the configured key was first seen: the overlap does not start again',
    async () => {
      const first = await restart({ JWT_PRIVATE_KEY: pem });
      const configuredKid = kidOf(await passwordGrant(first, 'alice'))!;
      await ageKey(first, configuredKid, RETENTION_MS + 1_000);
      const firstSeen = (
        await keyRows(first).findOneByOrFail({
          kid: configuredKid,
        })
      ).createdAt;

      const restarted = await restart({ JWT_PRIVATE_KEY: pem });

      expect(await keyRows(restarted).count()).toBe(2);
      expect(
        (await keyRows(restarted).findOneByOrFail({ kid: configuredKid }))
          .createdAt,
      ).toEqual(firstSeen);
      expect(await kidsOf(restarted)).toEqual([configuredKid]);
      await me(restarted, oldToken).expect(401);
    },
    SLOW,
  );

  it(
    'the stored key itself moved into JWT_PRIVATE_KEY keeps its kid and tokens, and leaves the database',
    async () => {
      const storedPem = (
        await keyRows(testApp!).findOneByOrFail({ kid: storedKid })
      ).privateKey!;

      const app = await restart({ JWT_PRIVATE_KEY: storedPem });

      expect(kidOf(await passwordGrant(app, 'alice'))).toBe(storedKid);
      await me(app, oldToken).expect(200);
      expect(await kidsOf(app)).toEqual([storedKid]);
      expect(await keyRows(app).findBy({})).toEqual([
        expect.objectContaining({ kid: storedKid, privateKey: null }),
      ]);
    },
    SLOW,
  );

  it(
    'rotate() refuses while a key is configured, with a message that names the variable, and stores no key',
    async () => {
      const app = await restart({ JWT_PRIVATE_KEY: pem });
      const rowsBefore = await keyRows(app).count();

      await expect(app.app.get(SigningKeysService).rotate()).rejects.toThrow(
        /^Not rotated: the key in JWT_PRIVATE_KEY signs every token/,
      );

      expect(await keyRows(app).count()).toBe(rowsBefore);
      expect(await kidsOf(app)).toHaveLength(2);
    },
    SLOW,
  );

  it(
    'a second configured key succeeds the first the same way: its tokens verify through the overlap, then not',
    async () => {
      const first = await restart({ JWT_PRIVATE_KEY: pem });
      const firstToken = await passwordGrant(first, 'alice');

      const second = await restart({ JWT_PRIVATE_KEY: await rsaPem() });
      const secondKid = kidOf(await passwordGrant(second, 'alice'))!;

      await me(second, firstToken).expect(200);
      await ageKey(second, secondKid, RETENTION_MS + 1_000);
      await second.app.get(SigningKeysService).reload();
      expect(await kidsOf(second)).not.toContain(kidOf(firstToken));
      await me(second, firstToken).expect(401);
    },
    SLOW,
  );

  it(
    'unsetting JWT_PRIVATE_KEY again makes a new stored key sign, while the configured key verifies its tokens through the overlap',
    async () => {
      const configured = await restart({ JWT_PRIVATE_KEY: pem });
      const configuredToken = await passwordGrant(configured, 'alice');
      const configuredKid = kidOf(configuredToken)!;

      const after = await restart();

      const newKid = kidOf(await passwordGrant(after, 'alice'))!;
      expect([storedKid, configuredKid]).not.toContain(newKid);
      expect(
        (await keyRows(after).findOneByOrFail({ kid: newKid })).generation,
      ).toBe(3);
      await me(after, configuredToken).expect(200);
      expect(await kidsOf(after)).toContain(configuredKid);

      await ageKey(after, newKid, RETENTION_MS + 1_000);
      await after.app.get(SigningKeysService).reload();
      expect(await kidsOf(after)).not.toContain(configuredKid);
      await me(after, configuredToken).expect(401);
    },
    SLOW,
  );
});

describe('a database made before a key could be stored without its private half', () => {
  it(
    'upgrades keeping its key, which goes on signing',
    async () => {
      const { databaseUrl, drop } = await createTestDatabase();
      let testApp: TestApp | undefined;
      try {
        const before = new AppDataSource({
          ...databaseOptions({ DATABASE_URL: databaseUrl }, entities),
          migrations: migrations.slice(0, -1),
        });
        await before.initialize();
        await before.runMigrations();
        const pem = await rsaPem();
        const publicKey = createPublicKey(pem);
        const { kty, n, e } = publicKey.export({ format: 'jwk' });
        const kid = await calculateJwkThumbprint({ kty, n, e }, 'sha256');
        await before.getRepository(SigningKey).insert({
          kid,
          generation: 1,
          algorithm: 'RS256',
          publicKey: publicKey
            .export({ type: 'spki', format: 'pem' })
            .toString(),
          privateKey: pem,
        });
        await before.destroy();

        testApp = await createTestApp({ DATABASE_URL: databaseUrl });

        await registerUser(testApp, 'alice');
        expect(kidOf(await passwordGrant(testApp, 'alice'))).toBe(kid);
        expect(await keyRows(testApp).findBy({})).toEqual([
          expect.objectContaining({ kid, generation: 1, privateKey: pem }),
        ]);
      } finally {
        await testApp?.close();
        await drop();
      }
    },
    SLOW,
  );
});
