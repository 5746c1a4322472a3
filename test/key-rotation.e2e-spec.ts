import {
  afterEach,
  beforeEach,
  describe,
  expect,
  it,
  jest,
} from '@jest/globals';
import { getRepositoryToken } from '@nestjs/typeorm';
import { decodeProtectedHeader } from 'jose';
import type { Repository } from 'typeorm';
import { SigningKey } from '../src/oauth/keys/signing-key.entity.js';
import {
  REFRESH_INTERVAL_MS,
  RELOAD_INTERVAL_MS,
  SigningKeysService,
} from '../src/oauth/keys/signing-keys.service.js';
import { passwordGrant, registerUser } from './utils/flows.js';
import { jwksOf } from './utils/tokens.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp } from './utils/test-app.js';

/** Starting apps and generating RSA keys takes a few seconds. */
const SLOW = 30_000;

const ACCESS_TOKEN_TTL = 300;
/**
 * How long a key outlives the creation of its successor: the last token it
 * signs may come from an instance that has not refreshed yet (one minute
 * later), lives ACCESS_TOKEN_TTL, and verifiers' clocks may be a minute late.
 */
const RETENTION_MS = (60 + ACCESS_TOKEN_TTL + 60) * 1000;

/** RFC 6750 §3.1: a refused token's challenge names the error. */
const INVALID_TOKEN = /^Bearer realm="[^"]+".*, error="invalid_token"/;

const kidsOf = async (testApp: TestApp) =>
  (await jwksOf(testApp)).keys.map((key) => key.kid).sort();

const keyRows = (testApp: TestApp) =>
  testApp.app.get<Repository<SigningKey>>(getRepositoryToken(SigningKey));

const me = (testApp: TestApp, token: string) =>
  testApp.http().get('/users/me').set('Authorization', `Bearer ${token}`);

const kidOf = (token: string) => decodeProtectedHeader(token).kid;

/** Moves a stored key's creation back in time, as if it had been rotated to that long ago. */
async function ageKey(testApp: TestApp, kid: string, ageMs: number) {
  await keyRows(testApp).update(
    { kid },
    { createdAt: new Date(Date.now() - ageMs) },
  );
}

/** Retries an assertion until it holds: a refresh runs in the background. */
async function eventually(assertion: () => Promise<void>, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe('signing key rotation', () => {
  describe('on one instance', () => {
    let testApp: TestApp;
    let keys: SigningKeysService;
    /** alice's token, signed before the rotation. */
    let oldToken: string;

    beforeEach(async () => {
      testApp = await createTestApp({
        ACCESS_TOKEN_TTL: String(ACCESS_TOKEN_TTL),
      });
      keys = testApp.app.get(SigningKeysService);
      await registerUser(testApp, 'alice');
      oldToken = await passwordGrant(testApp, 'alice');
    });
    afterEach(() => testApp.close());

    it(
      'rotate() stores the next generation and answers its kid',
      async () => {
        const rotated = await keys.rotate();

        expect(rotated).toEqual({ kid: expect.any(String), generation: 2 });
        expect(rotated.kid).not.toBe(kidOf(oldToken));
        expect((await keys.rotate()).generation).toBe(3);
        const rows = await keyRows(testApp).find({
          order: { generation: 'ASC' },
        });
        expect(rows.map((row) => row.generation)).toEqual([1, 2, 3]);
        expect(rows[1].kid).toBe(rotated.kid);
      },
      SLOW,
    );

    it(
      'a token issued before the rotation still answers 200 on GET /users/me',
      async () => {
        await keys.rotate();

        const response = await me(testApp, oldToken).expect(200);
        expect(response.body.username).toBe('alice');
      },
      SLOW,
    );

    it(
      'tokens issued after the rotation carry the new kid and are accepted',
      async () => {
        const { kid } = await keys.rotate();

        const newToken = await passwordGrant(testApp, 'alice');
        expect(kidOf(newToken)).toBe(kid);
        await me(testApp, newToken).expect(200);
      },
      SLOW,
    );

    it(
      'RFC 7517: the JWKS lists the new key and the old one, whose tokens may still be live',
      async () => {
        const { kid } = await keys.rotate();

        expect(await kidsOf(testApp)).toEqual([kidOf(oldToken), kid].sort());
      },
      SLOW,
    );

    it(
      'keeps the old key while a token it signed may be live: ACCESS_TOKEN_TTL + 2 minutes after the rotation',
      async () => {
        const { kid } = await keys.rotate();

        await ageKey(testApp, kid, RETENTION_MS - 30_000);
        await keys.reload();

        expect(await kidsOf(testApp)).toEqual([kidOf(oldToken), kid].sort());
        await me(testApp, oldToken).expect(200);
      },
      SLOW,
    );

    it(
      'then retires it: it leaves the JWKS and its tokens answer 401 invalid_token',
      async () => {
        const { kid } = await keys.rotate();

        await ageKey(testApp, kid, RETENTION_MS + 1_000);
        await keys.reload();

        expect(await kidsOf(testApp)).toEqual([kid]);
        const response = await me(testApp, oldToken).expect(401);
        expect(response.headers['www-authenticate']).toMatch(INVALID_TOKEN);
        // The key that signs now is not affected.
        await me(testApp, await passwordGrant(testApp, 'alice')).expect(200);
      },
      SLOW,
    );

    it(
      'and erases its private key from the database, keeping the public one',
      async () => {
        const { kid } = await keys.rotate();

        await ageKey(testApp, kid, RETENTION_MS + 1_000);
        await keys.reload();

        const [retired, current] = await keyRows(testApp).find({
          order: { generation: 'ASC' },
        });
        expect(retired).toMatchObject({
          kid: kidOf(oldToken),
          publicKey: expect.stringContaining('BEGIN PUBLIC KEY'),
          privateKey: null,
        });
        expect(current).toMatchObject({
          kid,
          privateKey: expect.stringContaining('BEGIN PRIVATE KEY'),
        });
      },
      SLOW,
    );

    it(
      'a second rotation also re-reads the keys and retires what is due',
      async () => {
        const second = await keys.rotate();
        await ageKey(testApp, second.kid, RETENTION_MS + 1_000);

        const third = await keys.rotate();

        // Generation 1 retired (its successor is old); 2 stays for the tokens it signed.
        expect(await kidsOf(testApp)).toEqual([second.kid, third.kid].sort());
        await me(testApp, oldToken).expect(401);
      },
      SLOW,
    );

    it(
      'a rotation that races another instance’s for the same generation takes the next one',
      async () => {
        // A read made just before another instance's rotation landed: this one aims at the taken generation.
        const maximum = jest
          .spyOn(keyRows(testApp), 'maximum')
          .mockResolvedValueOnce(0);
        try {
          expect((await keys.rotate()).generation).toBe(2);
          expect(maximum).toHaveBeenCalledTimes(2);
        } finally {
          maximum.mockRestore();
        }
        expect(await keyRows(testApp).count()).toBe(2);
      },
      SLOW,
    );

    it(
      'an insert that fails for another reason than a lost race is not retried',
      async () => {
        // The generation looks free even after the failure: not a race.
        const maximum = jest
          .spyOn(keyRows(testApp), 'maximum')
          .mockResolvedValue(0);
        try {
          // SQLite's and PostgreSQL's words for the unique violation.
          await expect(keys.rotate()).rejects.toThrow(
            /UNIQUE constraint failed|violates unique constraint/,
          );
        } finally {
          maximum.mockRestore();
        }
        expect(await keyRows(testApp).count()).toBe(1);
        expect(kidOf(await passwordGrant(testApp, 'alice'))).toBe(
          kidOf(oldToken),
        );
      },
      SLOW,
    );
  });

  describe('a token naming an unknown kid', () => {
    let testApp: TestApp;
    beforeEach(async () => {
      testApp = await createTestApp();
    });
    afterEach(async () => {
      jest.useRealTimers();
      await testApp.close();
    });

    it(
      'many verifications at once re-read the signing keys once, not once each, and find no key',
      async () => {
        const keys = testApp.app.get(SigningKeysService);
        // Only the clock is faked: it moves past the interval that spaces re-reads out.
        jest.useFakeTimers({
          now: Date.now() + RELOAD_INTERVAL_MS + 1_000,
          doNotFake: [
            'hrtime',
            'nextTick',
            'performance',
            'queueMicrotask',
            'setImmediate',
            'clearImmediate',
            'setInterval',
            'clearInterval',
            'setTimeout',
            'clearTimeout',
          ],
        });
        const reads = jest.spyOn(keyRows(testApp), 'find');
        try {
          const found = await Promise.all(
            Array.from({ length: 20 }, () =>
              keys.verificationKey('no-such-key'),
            ),
          );

          expect(found).toEqual(Array(20).fill(undefined));
          expect(reads).toHaveBeenCalledTimes(1);
        } finally {
          reads.mockRestore();
        }
      },
      SLOW,
    );

    it(
      'a rotation while such a re-read is under way signs with its new key at once',
      async () => {
        const keys = testApp.app.get(SigningKeysService);
        await registerUser(testApp, 'alice');
        jest.useFakeTimers({
          now: Date.now() + RELOAD_INTERVAL_MS + 1_000,
          doNotFake: [
            'hrtime',
            'nextTick',
            'performance',
            'queueMicrotask',
            'setImmediate',
            'clearImmediate',
            'setInterval',
            'clearInterval',
            'setTimeout',
            'clearTimeout',
          ],
        });
        // The unknown kid's re-read reads the table before the new key is
        // stored, and finishes only once the rotation asks for its own.
        const rows = keyRows(testApp);
        const find = rows.find.bind(rows);
        let finishRead = () => {};
        const readFinishes = new Promise<void>((resolve) => {
          finishRead = resolve;
        });
        jest.spyOn(rows, 'find').mockImplementationOnce(async (options) => {
          const before = await find(options);
          await readFinishes;
          return before;
        });
        const reload = keys.reload.bind(keys);
        jest.spyOn(keys, 'reload').mockImplementationOnce(() => {
          const reloaded = reload();
          finishRead();
          return reloaded;
        });
        try {
          const [, { kid }] = await Promise.all([
            keys.verificationKey('no-such-key'),
            keys.rotate(),
          ]);

          expect(kidOf(await passwordGrant(testApp, 'alice'))).toBe(kid);
        } finally {
          jest.restoreAllMocks();
        }
      },
      SLOW,
    );
  });

  describe('across instances sharing the database', () => {
    it(
      'a second app picks up a rotation made through the first at its next refresh, without a restart',
      async () => {
        const first = await createTestApp();
        let second: TestApp | undefined;
        // Only the refresh timer is faked, so that a minute passes at once.
        jest.useFakeTimers({
          doNotFake: [
            'Date',
            'hrtime',
            'nextTick',
            'performance',
            'queueMicrotask',
            'setImmediate',
            'clearImmediate',
            'setTimeout',
            'clearTimeout',
          ],
        });
        try {
          second = await createTestApp({ DATABASE_URL: first.databaseUrl });
          const started = second;
          await registerUser(first, 'alice');

          const { kid } = await first.app.get(SigningKeysService).rotate();
          expect(await kidsOf(started)).not.toContain(kid);
          jest.advanceTimersByTime(REFRESH_INTERVAL_MS);

          await eventually(async () => {
            expect(await jwksOf(started)).toEqual(await jwksOf(first));
          });
          expect(await kidsOf(started)).toContain(kid);
          // And it accepts the tokens the first app now signs with the new key.
          const token = await passwordGrant(first, 'alice');
          expect(kidOf(token)).toBe(kid);
          await me(started, token).expect(200);

          await started.close();
          second = undefined;
          // Closing the app stops its refresh: no timer of it is left behind.
          expect(jest.getTimerCount()).toBe(0);
        } finally {
          // Passport's strategies are process-wide: close both apps together.
          await second?.close();
          jest.useRealTimers();
          await first.close();
        }
      },
      SLOW,
    );
  });
});
