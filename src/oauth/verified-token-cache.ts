import type { AccessTokenClaims } from '../access/access-principal.js';

/**
 * The claims of access tokens whose signature this instance has checked,
 * by the token's exact text. A client sends the same token with every call
 * until it expires, and an RS256 verification is the largest single cost of
 * an authenticated request (docs/performance.md); the answer for the same
 * bytes and the same key never changes. Only the signature check is saved:
 * the caller still checks the header (so a retired key's tokens fail at
 * once: the `kid` is the key's RFC 7638 thumbprint, one kid one key) and
 * whether the user, session or client still stands; `exp` and `nbf` are
 * checked here on every read.
 *
 * Bounded: past `capacity` tokens the oldest is forgotten (and verified
 * again when it comes back). Only tokens that verified are remembered, so
 * forged tokens cannot crowd it.
 */
type VerifiedClaims = AccessTokenClaims & { nbf?: unknown };

export interface VerifiedToken {
  claims: AccessTokenClaims;
  /** The key it was verified with: the caller checks that it still stands. */
  kid: string;
}

export class VerifiedTokenCache {
  private readonly verifiedByToken = new Map<
    string,
    { claims: VerifiedClaims; kid: string }
  >();

  constructor(private readonly capacity: number) {}

  /** The token if it verified before and is valid at `now`. */
  get(token: string, now = Date.now()): VerifiedToken | undefined {
    const verified = this.verifiedByToken.get(token);
    if (verified === undefined) return undefined;
    const { claims } = verified;
    const seconds = Math.floor(now / 1000);
    // As jsonwebtoken, without clock tolerance: expired from `exp` on, valid from `nbf` on.
    if (seconds >= claims.exp) {
      this.verifiedByToken.delete(token);
      return undefined;
    }
    if (typeof claims.nbf === 'number' && seconds < claims.nbf)
      return undefined;
    return verified;
  }

  /** Records claims jsonwebtoken has just verified for this token, with the key's kid. */
  remember(
    token: string,
    claims: Partial<AccessTokenClaims>,
    kid: string,
  ): void {
    if (this.capacity === 0 || typeof claims.exp !== 'number') return;
    // Every request with this token shares the object from now on.
    Object.freeze(claims);
    if (this.verifiedByToken.size >= this.capacity) {
      const oldest = this.verifiedByToken.keys().next();
      if (!oldest.done) this.verifiedByToken.delete(oldest.value);
    }
    this.verifiedByToken.set(token, { claims: claims as VerifiedClaims, kid });
  }
}
