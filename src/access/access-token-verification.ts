import type { Algorithm } from 'jsonwebtoken';
import type { KeyObject } from 'node:crypto';
import type { AccessPrincipal, AccessTokenClaims } from './access-principal.js';

/** Why a token's header was refused before its signature was checked. */
export class UnacceptableTokenHeader extends Error {}

/**
 * What the bearer guard needs of the authorization server that issued the
 * token: the key to check its signature with, and whom it speaks for once
 * checked. A port: the authorization server provides it
 * (AccessTokenVerifier), so that what every protected route uses does not
 * depend on the server's keys, users, sessions and clients.
 */
export abstract class AccessTokenVerification {
  /** The `iss` and `aud` a token must carry. */
  abstract readonly issuer: string;
  abstract readonly audience: string;
  /** The one algorithm a token may be signed with: never read from the token. */
  abstract readonly algorithm: Algorithm;

  /** The public key for the token's `kid`; rejects with UnacceptableTokenHeader. */
  abstract verificationKeyFor(rawToken: string): Promise<KeyObject>;

  /**
   * The claims of a token whose signature was checked before, if it has not
   * expired and its key still stands (else throws UnacceptableTokenHeader,
   * as verificationKeyFor rejects); undefined when the signature must be
   * checked. Synchronous: it runs on every authenticated request.
   */
  abstract previouslyVerified(
    rawToken: string,
  ): Partial<AccessTokenClaims> | undefined;

  /** Remembers a token whose signature has just been checked. */
  abstract rememberVerified(
    rawToken: string,
    claims: Partial<AccessTokenClaims>,
  ): void;

  /** Who a token with a valid signature speaks for, if it still stands. */
  abstract principalFor(
    claims: Partial<AccessTokenClaims>,
  ): Promise<AccessPrincipal>;
}
