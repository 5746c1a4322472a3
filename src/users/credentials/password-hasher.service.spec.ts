import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import bcrypt from 'bcrypt';
import { performance } from 'node:perf_hooks';
import type { AppConfig } from '../../config/env.js';
import { validateEnv } from '../../config/env.js';
import { PasswordHasher } from './password-hasher.service.js';

function hasherAtCost(cost: number): PasswordHasher {
  return new PasswordHasher(
    new ConfigService<AppConfig, true>(
      validateEnv({ BCRYPT_COST: String(cost) }),
    ),
  );
}

/** The median duration of `runs` sequential calls, in milliseconds. */
async function medianMillis(
  runs: number,
  work: () => Promise<unknown>,
): Promise<number> {
  const durations: number[] = [];
  for (let run = 0; run < runs; run++) {
    const start = performance.now();
    await work();
    durations.push(performance.now() - start);
  }
  return durations.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

describe('PasswordHasher', () => {
  // Every cost below 10 warns; the warning is asserted once, silenced here.
  const warn = jest
    .spyOn(Logger.prototype, 'warn')
    .mockImplementation(() => undefined);
  beforeEach(() => {
    warn.mockClear();
  });

  const hasher = hasherAtCost(4);

  it('warns at start-up when BCRYPT_COST is below 10, and not from 10 on', () => {
    hasherAtCost(9);
    expect(warn).toHaveBeenCalledWith(
      expect.stringMatching(/^BCRYPT_COST=9 is below 10/),
    );

    warn.mockClear();
    hasherAtCost(10);
    expect(warn).not.toHaveBeenCalled();
  });

  it('verifies the password it hashed, and no other', async () => {
    const hash = await hasher.hash('violet anchor drizzle pumpkin');

    expect(await hasher.verify('violet anchor drizzle pumpkin', hash)).toBe(
      true,
    );
    expect(await hasher.verify('violet anchor drizzle pumpkins', hash)).toBe(
      false,
    );
  });

  it('verifies a password typed in another Unicode form that NFKC makes equal', async () => {
    const hash = await hasher.hash('ﬁre walrus kelp bay');

    expect(await hasher.verify('fire walrus kelp bay', hash)).toBe(true);
  });

  it('refuses a password longer than 72 bytes whose first 72 bytes match, which bcrypt alone would accept', async () => {
    const first72 =
      'lantern quiver basalt mosaic orbit tundra saffron ember walnut cobalt ax';
    const hash = await hasher.hash(first72);
    const longer = `${first72}e and anything after`;
    expect(await bcrypt.compare(longer, hash)).toBe(true); // the trap

    expect(await hasher.verify(longer, hash)).toBe(false);
  });

  describe('needsRehash()', () => {
    it('is true for a hash made at a lower cost than configured', async () => {
      const hash = await bcrypt.hash('violet anchor drizzle pumpkin', 4);

      expect(hasherAtCost(5).needsRehash(hash)).toBe(true);
    });

    it('is false for a hash made at the configured cost or above', async () => {
      const hash = await bcrypt.hash('violet anchor drizzle pumpkin', 5);

      expect(hasherAtCost(5).needsRehash(hash)).toBe(false);
      expect(hasherAtCost(4).needsRehash(hash)).toBe(false);
    });
  });

  describe('verifyNothing() (for a username that does not exist)', () => {
    it('is false, even for the password its dummy hash was made from', async () => {
      expect(await hasher.verifyNothing('not a password of anyone')).toBe(
        false,
      );
    });

    it('spends about the time of a real comparison, so timing does not reveal that the user is unknown', async () => {
      const slowHasher = hasherAtCost(8);
      const hash = await slowHasher.hash('violet anchor drizzle pumpkin');
      await slowHasher.verifyNothing('warm-up: makes the dummy hash');

      const real = await medianMillis(3, () =>
        slowHasher.verify('wrong guess at a password', hash),
      );
      const nothing = await medianMillis(3, () =>
        slowHasher.verifyNothing('wrong guess at a password'),
      );

      expect(nothing).toBeGreaterThanOrEqual(0.3 * real);
    });
  });

  describe('verify() of a hash older than a BCRYPT_COST raise', () => {
    /**
     * The work of the comparisons a call makes, in units of one comparison
     * at cost 0: bcrypt's work doubles with each cost step. Counted, not
     * timed, so that a busy machine cannot make the test pass or fail.
     */
    async function workOf(call: () => Promise<unknown>): Promise<number> {
      const compare = jest.spyOn(bcrypt, 'compare');
      try {
        await call();
        return compare.mock.calls.reduce(
          (work, [, hash]) => work + 2 ** bcrypt.getRounds(hash),
          0,
        );
      } finally {
        compare.mockRestore();
      }
    }

    it("does the work of one comparison at today's cost, as verifyNothing does, so an account with an old hash does not answer faster than an unknown username", async () => {
      const raised = hasherAtCost(9);
      const oldHash = await bcrypt.hash('violet anchor drizzle pumpkin', 4);
      await raised.verifyNothing('warm-up: makes the dummy hashes');
      await raised.verify('warm-up', oldHash);

      const unknown = await workOf(() =>
        raised.verifyNothing('wrong guess at a password'),
      );
      const old = await workOf(() =>
        raised.verify('wrong guess at a password', oldHash),
      );

      expect(unknown).toBe(2 ** 9);
      // Without making up the difference: 2^4, a thirty-second of it.
      expect(old).toBe(unknown);
      expect(
        await raised.verify('violet anchor drizzle pumpkin', oldHash),
      ).toBe(true);
    });
  });
});
