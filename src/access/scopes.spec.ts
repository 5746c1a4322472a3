import { describe, expect, it } from '@jest/globals';
import { narrowScopes, parseScope } from './scopes.js';

/** RFC 6749 §3.3: scope = scope-token *( SP scope-token ). */
describe('parseScope()', () => {
  it('splits a space-delimited scope into its tokens', () => {
    expect(parseScope('profile users:read')).toEqual(['profile', 'users:read']);
  });

  it('ignores repeated and surrounding spaces', () => {
    expect(parseScope('  profile   users:read ')).toEqual([
      'profile',
      'users:read',
    ]);
  });

  it('lists a token asked for twice once', () => {
    expect(parseScope('profile users:read profile')).toEqual([
      'profile',
      'users:read',
    ]);
  });

  it('accepts every printable ASCII character the RFC allows in a token', () => {
    expect(parseScope('!#[]~ https://api.example.com/read')).toEqual([
      '!#[]~',
      'https://api.example.com/read',
    ]);
  });

  it.each([
    ['a double quote', 'profile "admin"'],
    ['a backslash', 'profile users\\read'],
    ['a tab, which is not a separator', 'profile\tusers:read'],
    ['a line break', 'profile\r\nusers:read'],
    ['DEL', 'profile\x7f'],
    ['a non-ASCII letter', 'profil\u00e9'],
  ])('rejects a scope containing %s', (_kind, scope) => {
    expect(parseScope(scope)).toBeNull();
  });
});

describe('narrowScopes()', () => {
  it('keeps the scopes also allowed, in their own order', () => {
    expect(
      narrowScopes(
        ['users:read', 'profile', 'audit:read'],
        ['profile', 'users:read'],
      ),
    ).toEqual(['users:read', 'profile']);
  });

  it('keeps nothing when nothing is allowed', () => {
    expect(narrowScopes(['profile'], [])).toEqual([]);
  });
});
