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
}

/** Who a valid access token speaks for, as the guards see it. */
export interface AccessPrincipal {
  user: User;
  scopes: readonly string[];
  clientId: string;
  tokenId: string;
}
