import { describe, expect, it } from '@jest/globals';
import { allowedByRoles, scopesForRoles } from './roles.js';

describe('scopesForRoles()', () => {
  it('grants a user only their own profile', () => {
    expect(scopesForRoles(['user'])).toEqual(['profile']);
  });

  it('grants an admin the administration scopes as well', () => {
    expect(scopesForRoles(['admin'])).toEqual([
      'profile',
      'users:read',
      'users:write',
      'clients:write',
      'audit:read',
      'metrics:read',
    ]);
  });

  it('grants the union over several roles, each scope once', () => {
    expect(scopesForRoles(['user', 'admin'])).toEqual(
      scopesForRoles(['admin']),
    );
  });

  it('grants nothing to a user without roles', () => {
    expect(scopesForRoles([])).toEqual([]);
  });
});

describe('allowedByRoles()', () => {
  it("keeps a session's scopes that the roles still grant, in the session's order", () => {
    expect(allowedByRoles(['users:read', 'profile'], ['admin'])).toEqual([
      'users:read',
      'profile',
    ]);
  });

  it('drops what a demoted admin no longer holds', () => {
    expect(
      allowedByRoles(['profile', 'users:read', 'audit:read'], ['user']),
    ).toEqual(['profile']);
  });
});
