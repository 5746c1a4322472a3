import { describe, expect, it } from '@jest/globals';
import { refreshTokenState } from './refresh-token-state.js';

const NOW = new Date('2026-12-01T12:00:00Z');
const LATER = new Date('2026-12-15T12:00:00Z');
const EARLIER = new Date('2026-11-30T12:00:00Z');

const token = (changes: { spentAt?: Date | null; expiresAt?: Date } = {}) => ({
  spentAt: null,
  expiresAt: LATER,
  ...changes,
});
const session = (
  changes: { clientId?: string; endedAt?: Date | null; expiresAt?: Date } = {},
) => ({ clientId: 'public', endedAt: null, expiresAt: LATER, ...changes });

describe('refreshTokenState()', () => {
  it('is live: unspent, unexpired, its session going on, presented by its client', () => {
    expect(
      refreshTokenState(token(), session(), {
        presentedBy: 'public',
        now: NOW,
      }),
    ).toBe('live');
  });

  it('is live for a resource server that only looks at it, whatever its client', () => {
    expect(
      refreshTokenState(token(), session({ clientId: 'svc_other' }), {
        now: NOW,
      }),
    ).toBe('live');
  });

  it('RFC 6749 §6: belongs to another client, before anything else is told', () => {
    expect(
      refreshTokenState(
        token({ spentAt: EARLIER, expiresAt: EARLIER }),
        session({ clientId: 'svc_other', endedAt: EARLIER }),
        { presentedBy: 'public', now: NOW },
      ),
    ).toBe('other_client');
  });

  it('is ended once its session ended, spent or not', () => {
    expect(
      refreshTokenState(token(), session({ endedAt: EARLIER }), {
        presentedBy: 'public',
        now: NOW,
      }),
    ).toBe('ended');
    expect(
      refreshTokenState(
        token({ spentAt: EARLIER }),
        session({ endedAt: EARLIER }),
        {
          now: NOW,
        },
      ),
    ).toBe('ended');
  });

  it('RFC 9700 §4.14.2: is spent once exchanged, even after it expired: presenting it is reuse', () => {
    expect(
      refreshTokenState(token({ spentAt: EARLIER }), session(), { now: NOW }),
    ).toBe('spent');
    expect(
      refreshTokenState(
        token({ spentAt: EARLIER, expiresAt: EARLIER }),
        session(),
        { now: NOW },
      ),
    ).toBe('spent');
  });

  it('is expired from the instant it or its session expires', () => {
    expect(
      refreshTokenState(token({ expiresAt: NOW }), session(), { now: NOW }),
    ).toBe('expired');
    expect(
      refreshTokenState(token(), session({ expiresAt: EARLIER }), { now: NOW }),
    ).toBe('expired');
    expect(
      refreshTokenState(
        token({ expiresAt: new Date(NOW.getTime() + 1) }),
        session(),
        { now: NOW },
      ),
    ).toBe('live');
  });
});
