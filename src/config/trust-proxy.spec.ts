import { describe, expect, it } from '@jest/globals';
import { proxyTrustOf } from './trust-proxy.js';

/** Fastify asks hop by hop, from the socket (hop 0) towards the client. */
describe('proxyTrustOf()', () => {
  it('trusts nobody with false: the socket address is the client', () => {
    expect(proxyTrustOf('false')('127.0.0.1', 0)).toBe(false);
  });

  it('trusts as many hops as a count says', () => {
    const trusts = proxyTrustOf('2');

    expect([0, 1, 2].map((hop) => trusts('192.0.2.1', hop))).toEqual([
      true,
      true,
      false,
    ]);
  });

  it('trusts only the listed addresses and networks', () => {
    const trusts = proxyTrustOf('10.0.0.0/8, 192.0.2.7');

    expect(trusts('10.1.2.3', 0)).toBe(true);
    expect(trusts('192.0.2.7', 1)).toBe(true);
    expect(trusts('192.0.2.8', 0)).toBe(false);
  });
});
