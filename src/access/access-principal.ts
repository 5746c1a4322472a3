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
  /** RFC 9449 §6.1: the DPoP key a bound token must be sent with; absent from a bearer token. */
  cnf?: { jkt: string };
  /** RFC 8693 §4.1: the client acting for the user, and before it the ones it acts for. */
  act?: ActorClaim;
}

/** RFC 8693 §4.1: an actor, nesting the actor before it in a call chain. */
export interface ActorClaim {
  sub: string;
  act?: ActorClaim;
}

/**
 * What the guards and routes read of the user a token speaks for. At run
 * time it is the users/ entity itself, as the verifier loaded it; only
 * what is read here is named, so that every protected route can use the
 * principal without this layer depending on users/.
 */
export interface PrincipalUser {
  id: string;
  username: string;
  roles: readonly string[];
}

/** What is read of the client a client's own token speaks for (the clients/ entity at run time). */
export interface PrincipalClient {
  id: string;
  allowedScopes: readonly string[];
}

/** Who a valid access token speaks for, as the guards see it. */
export interface AccessPrincipal {
  /** The user, or null for a client acting on its own behalf (client_credentials). */
  user: PrincipalUser | null;
  /** The client acting on its own behalf; null for a user's token. */
  client: PrincipalClient | null;
  clientId: string;
  /** The token's scopes still allowed to its holder today. */
  scopes: readonly string[];
  sessionId: string | null;
  /**
   * A user's token that a client got by token exchange (RFC 8693): its
   * client is not the one the user signed in to.
   */
  exchanged: boolean;
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
