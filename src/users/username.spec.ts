import { describe, expect, it } from '@jest/globals';
import { normalizeUsername, USERNAME_PATTERN } from './username.js';

/** API.md, `POST /users`: the username rules. */
describe('normalizeUsername()', () => {
  it('lower-cases, so that "Alice" and "alice" are one account', () => {
    expect(normalizeUsername('Alice')).toBe('alice');
  });

  it('folds fullwidth letters with NFKC, so that "ａｌｉｃｅ" is "alice" too', () => {
    expect(normalizeUsername('ａｌｉｃｅ')).toBe('alice');
  });

  it('gives one form for a name typed precomposed or with a combining accent', () => {
    expect(normalizeUsername('Mu\u0308ller')).toBe(normalizeUsername('müller'));
  });

  // Bug: toLowerCase() maps a word-final 'Σ' to 'ς', but a typed 'σ' stays
  // 'σ', so two spellings that differ only in case are two accounts.
  // Unicode case folding (CaseFolding.txt) maps both to 'σ'.
  it('gives one form for Greek names that differ only in case', () => {
    expect(normalizeUsername('ΟΔΟΣ')).toBe(normalizeUsername('οδοσ'));
  });
});

describe('USERNAME_PATTERN', () => {
  it.each([
    ['3 characters', 'abc'],
    ['64 characters', 'a'.repeat(64)],
    ['letters, digits and . _ - @ +', 'a.b_c-d@e+f9'],
    ['letters with accents', 'müller'],
    ['letters of other scripts', '用户名'],
  ])('accepts %s', (_kind, username) => {
    expect(USERNAME_PATTERN.test(username)).toBe(true);
  });

  it.each([
    ['2 characters', 'ab'],
    ['65 characters', 'a'.repeat(65)],
    ['a space', 'alice smith'],
    ['a line break (header and log injection)', 'alice\r\nadmin'],
    ['a trailing newline', 'alice\n'],
    ['a colon (it would break HTTP Basic credentials)', 'alice:admin'],
  ])('rejects %s', (_kind, username) => {
    expect(USERNAME_PATTERN.test(username)).toBe(false);
  });
});
