import type { Role } from '../users/user.entity.js';

/**
 * The scopes a token can carry, with the words Swagger UI and the RFC 8414
 * metadata show for them.
 */
export const SCOPES = {
  profile: 'Read and change your own profile, password and sessions.',
  'users:read': 'Read any user (administrators).',
  'users:write':
    'Create, change, deactivate and delete any user (administrators).',
  'clients:write': 'Register and delete service clients (administrators).',
  'audit:read': 'Read the audit log of security events (administrators).',
  'metrics:read':
    'Scrape GET /metrics when METRICS=bearer (administrators, and service clients such as Prometheus).',
} as const;

export type Scope = keyof typeof SCOPES;

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

export function isScope(value: string): value is Scope {
  return Object.hasOwn(SCOPES, value);
}

export function scopesForRoles(roles: readonly Role[]): Scope[] {
  return [...new Set(roles.flatMap((role) => ROLE_SCOPES[role] ?? []))];
}

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** A space-delimited scope string as a list, or null when it is malformed. */
export function parseScope(scope: string): string[] | null {
  const tokens = scope.split(' ').filter((token) => token !== '');
  return tokens.every((token) => SCOPE_TOKEN.test(token))
    ? [...new Set(tokens)]
    : null;
}
