import type { Client } from '../clients/client.entity.js';
import type { User } from '../users/user.entity.js';

/** RFC 9068 §2.2 claims of the access tokens this service issues. */
export interface AccessTokenClaims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  iat: number;
  jti: string;
  client_id: string;
  scope: string;
  /** The session (refresh family) of a user's token; absent from a client's own token. */
  sid?: string;
}

/** Who a valid access token speaks for, as the guards see it. */
export interface AccessPrincipal {
  /** The user, or null for a client acting on its own behalf (client_credentials). */
  user: User | null;
  /** The client acting on its own behalf; null for a user's token. */
  client: Client | null;
  clientId: string;
  /** The token's scopes still allowed to its holder today. */
  scopes: readonly string[];
  sessionId: string | null;
  claims: AccessTokenClaims;
}

/**
 * A person holding the admin role, signed in: what granting power takes.
 * A scope alone is not enough, as clients can be registered with any of
 * them, and a client that could grant roles or register clients like
 * itself could lift any token to an admin's.
 */
export function isUserAdmin(principal: AccessPrincipal): boolean {
  return principal.user?.roles.includes('admin') === true;
}
