import { describe, expect, it } from '@jest/globals';
import { clientKeyOf } from './client-key.js';

describe('clientKeyOf()', () => {
  it('counts an IPv4 address alone, however it is written', () => {
    expect(clientKeyOf('192.0.2.1')).toBe('192.0.2.1');
    expect(clientKeyOf('::ffff:192.0.2.1')).toBe('192.0.2.1');
  });

  it('counts every address of an IPv6 /64 as one client', () => {
    const key = clientKeyOf('2001:db8:1:2::1');

    expect(key).toBe('2001:db8:1:2::/64');
    expect(clientKeyOf('2001:db8:1:2:ffff:eeee:dddd:cccc')).toBe(key);
    expect(clientKeyOf('2001:db8:1:3::1')).not.toBe(key);
  });
});
