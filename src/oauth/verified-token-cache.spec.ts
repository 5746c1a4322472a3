import { describe, expect, it } from '@jest/globals';
import type { AccessTokenClaims } from '../access/access-principal.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const seconds = (ms: number) => Math.floor(ms / 1000);
const claims = (
  extra: Partial<AccessTokenClaims> & { nbf?: number } = {},
): Partial<AccessTokenClaims> => ({
  sub: 'alice',
  iat: seconds(NOW),
  exp: seconds(NOW) + 900,
  ...extra,
});

describe('VerifiedTokenCache', () => {
  it('answers a remembered token with its claims, and nothing for any other text', () => {
    const cache = new VerifiedTokenCache(10);
    cache.remember('header.payload.signature', claims(), 'kid-1');

    expect(cache.get('header.payload.signature', NOW)).toEqual({
      claims: claims(),
      kid: 'kid-1',
    });
    expect(cache.get('header.payload.signaturf', NOW)).toBeUndefined();
    expect(cache.get('header.payload.signature ', NOW)).toBeUndefined();
  });

  it('forgets a token from its exp on, as jsonwebtoken refuses it', () => {
    const cache = new VerifiedTokenCache(10);
    cache.remember('t', claims({ exp: seconds(NOW) + 1 }), 'kid-1');

    expect(cache.get('t', NOW)).toBeDefined();
    expect(cache.get('t', NOW + 1_000)).toBeUndefined();
    expect(cache.get('t', NOW)).toBeUndefined();
  });

  it('does not answer a token before its nbf', () => {
    const cache = new VerifiedTokenCache(10);
    cache.remember('t', claims({ nbf: seconds(NOW) + 60 }), 'kid-1');

    expect(cache.get('t', NOW)).toBeUndefined();
    expect(cache.get('t', NOW + 60_000)).toBeDefined();
  });

  it('keeps at most its capacity, forgetting the oldest first', () => {
    const cache = new VerifiedTokenCache(2);
    cache.remember('first', claims(), 'kid-1');
    cache.remember('second', claims(), 'kid-1');
    cache.remember('third', claims(), 'kid-1');

    expect(cache.get('first', NOW)).toBeUndefined();
    expect(cache.get('second', NOW)).toBeDefined();
    expect(cache.get('third', NOW)).toBeDefined();
  });

  it('remembers nothing with capacity 0, nor a token without exp', () => {
    const none = new VerifiedTokenCache(0);
    none.remember('t', claims(), 'kid-1');
    const cache = new VerifiedTokenCache(10);
    cache.remember('t', { sub: 'alice' }, 'kid-1');

    expect(none.get('t', NOW)).toBeUndefined();
    expect(cache.get('t', NOW)).toBeUndefined();
  });

  it('freezes the claims every request with the token then shares', () => {
    const cache = new VerifiedTokenCache(10);
    cache.remember('t', claims(), 'kid-1');

    expect(Object.isFrozen(cache.get('t', NOW)?.claims)).toBe(true);
  });
});
