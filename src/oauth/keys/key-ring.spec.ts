import { describe, expect, it } from '@jest/globals';
import type { StoredKeyRow } from './key-ring.js';
import {
  CLOCK_SKEW_MS,
  keyRetentionMs,
  keyRing,
  verifyingKids,
} from './key-ring.js';

const MINUTE = 60_000;
const RETENTION = 20 * MINUTE;
const T0 = Date.parse('2026-12-01T12:00:00Z');

/** A row of generation `generation`, created `minutes` after T0. */
const row = (
  generation: number,
  minutes: number,
  hasPrivateKey = true,
): StoredKeyRow => ({
  kid: `kid-${generation}`,
  generation,
  createdAt: new Date(T0 + minutes * MINUTE),
  hasPrivateKey,
});

const ringAt = (
  minutes: number,
  rows: StoredKeyRow[],
  options: { configured?: boolean; held?: Set<string> } = {},
) =>
  keyRing(rows, {
    now: T0 + minutes * MINUTE,
    retentionMs: RETENTION,
    configured: options.configured ?? false,
    held: options.held,
  });

describe('keyRetentionMs()', () => {
  it('outlives the last token an instance that has not refreshed yet may sign, plus clock skew', () => {
    expect(keyRetentionMs(60_000, 900_000)).toBe(
      60_000 + 900_000 + CLOCK_SKEW_MS,
    );
  });
});

describe('keyRing()', () => {
  it('signs with the only key, which never retires', () => {
    expect(ringAt(10_000, [row(1, 0)])).toEqual({
      live: [{ kid: 'kid-1' }],
      signer: 'kid-1',
      toErase: [],
    });
  });

  it('after a rotation, signs with the newest and keeps the older verifying until its successor is RETENTION old', () => {
    const rows = [row(1, 0), row(2, 30)];
    expect(ringAt(31, rows)).toEqual({
      live: [
        { kid: 'kid-2' },
        { kid: 'kid-1', retiresAt: T0 + 30 * MINUTE + RETENTION },
      ],
      signer: 'kid-2',
      toErase: [],
    });
  });

  it('retires the older key at the instant its retention ends, and erases its private half', () => {
    const rows = [row(2, 30), row(1, 0)];
    expect(ringAt(30 + 20, rows)).toEqual({
      live: [{ kid: 'kid-2' }],
      signer: 'kid-2',
      toErase: ['kid-1'],
    });
  });

  it('has nothing more to erase for a retired key whose private half is gone', () => {
    expect(ringAt(60, [row(1, 0, false), row(2, 30)]).toErase).toEqual([]);
  });

  it('counts each retirement from its own successor', () => {
    const ring = ringAt(55, [row(1, 0), row(2, 30), row(3, 50)]);
    expect(ring.live.map((key) => key.kid)).toEqual(['kid-3', 'kid-2']);
    expect(ring.live[1].retiresAt).toBe(T0 + 50 * MINUTE + RETENTION);
    expect(ring.toErase).toEqual(['kid-1']);
  });

  it('signs with the newest live key that has its private half: a configured key recorded by another instance has none', () => {
    // Generation 2 is another instance's configured key, stored without its private half.
    expect(ringAt(31, [row(1, 0), row(2, 30, false)]).signer).toBe('kid-1');
  });

  it('signs with a key this instance still holds, though the table no longer has its private half', () => {
    expect(
      ringAt(31, [row(1, 0), row(2, 30, false)], { held: new Set(['kid-2']) })
        .signer,
    ).toBe('kid-2');
  });

  it('has no stored signer while a key is configured: that one signs', () => {
    const ring = ringAt(31, [row(1, 0), row(2, 30, false)], {
      configured: true,
    });
    expect(ring.signer).toBeUndefined();
    expect(ring.live.map((key) => key.kid)).toEqual(['kid-2', 'kid-1']);
  });

  it('has no signer once every key with a private half retired (instances disagree on JWT_PRIVATE_KEY)', () => {
    expect(ringAt(60, [row(1, 0), row(2, 30, false)])).toEqual({
      live: [{ kid: 'kid-2' }],
      toErase: ['kid-1'],
    });
  });
});

describe('verifyingKids()', () => {
  const live = [
    { kid: 'kid-2' },
    { kid: 'kid-1', retiresAt: T0 + 50 * MINUTE },
  ];

  it('lists every stored key not retired yet, newest first', () => {
    expect(verifyingKids(live, { now: T0 + 40 * MINUTE })).toEqual([
      'kid-2',
      'kid-1',
    ]);
  });

  it('drops a key from the instant it retires, between two reads of the table', () => {
    expect(verifyingKids(live, { now: T0 + 50 * MINUTE })).toEqual(['kid-2']);
  });

  it('puts the configured key first, once, though its row is stored too', () => {
    expect(
      verifyingKids(live, { now: T0 + 40 * MINUTE, configured: 'kid-2' }),
    ).toEqual(['kid-2', 'kid-1']);
    expect(
      verifyingKids(live, { now: T0 + 40 * MINUTE, configured: 'kid-9' }),
    ).toEqual(['kid-9', 'kid-2', 'kid-1']);
  });
});
