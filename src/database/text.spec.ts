import { describe, expect, it } from '@jest/globals';
import { containsNul, withoutNul } from './text.js';

describe('text PostgreSQL can store', () => {
  it('finds a NUL anywhere in the text', () => {
    expect(containsNul('root\u0000')).toBe(true);
    expect(containsNul('\u0000')).toBe(true);
    expect(containsNul('root')).toBe(false);
  });

  it('replaces every NUL with U+FFFD and leaves the rest as it was', () => {
    expect(withoutNul('a\u0000b\u0000')).toBe('a\uFFFDb\uFFFD');
    expect(withoutNul('ünïcode')).toBe('ünïcode');
  });
});
