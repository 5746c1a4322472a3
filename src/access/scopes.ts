/**
 * The scopes a token can carry, with the words Swagger UI and the RFC 8414
 * metadata show for them.
 */
export const SCOPES = {
  profile: 'Read and change your own profile, password and sessions.',
  'users:read': 'Read any user (administrators).',
  'users:write':
    'Create, change, deactivate and delete any user (administrators).',
  'clients:write':
    'Register and delete service clients, and the APIs that accept tokens (administrators).',
  'audit:read': 'Read the audit log of security events (administrators).',
  'metrics:read':
    'Scrape GET /metrics when METRICS=bearer (administrators, and service clients such as Prometheus).',
} as const;

export type Scope = keyof typeof SCOPES;

export function isScope(value: string): value is Scope {
  return Object.hasOwn(SCOPES, value);
}

/**
 * Those of `scopes` that are also in `allowed`, in the order of `scopes`:
 * what a token, a session or a login may still carry once its holder's
 * roles or its client's registration have had their say.
 */
export function narrowScopes(
  scopes: readonly string[],
  allowed: readonly string[],
): string[] {
  return scopes.filter((scope) => allowed.includes(scope));
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
