import type { Scope } from '../access/scopes.js';
import { narrowScopes } from '../access/scopes.js';
import type { Role } from './user.entity.js';

/** What each role may be granted; a user holds the union over its roles. */
const ROLE_SCOPES: Record<Role, readonly Scope[]> = {
  user: ['profile'],
  admin: [
    'profile',
    'users:read',
    'users:write',
    'clients:write',
    'audit:read',
    'metrics:read',
  ],
};

export function scopesForRoles(roles: readonly Role[]): Scope[] {
  return [...new Set(roles.flatMap((role) => ROLE_SCOPES[role] ?? []))];
}

/**
 * Those of `scopes`, granted earlier (to a session, in a token), that
 * `roles` still grant today: a demoted admin's refresh and access tokens
 * lose the administration scopes at once.
 */
export function allowedByRoles(
  scopes: readonly string[],
  roles: readonly Role[],
): string[] {
  return narrowScopes(scopes, scopesForRoles(roles));
}
