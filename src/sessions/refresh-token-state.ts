/**
 * What a presented refresh token is worth, decided from its row and its
 * session's alone, so that the token grant, the rotation and introspection
 * cannot disagree.
 *
 * - `live`: it can be exchanged, once;
 * - `other_client`: it was issued to another client (RFC 6749 §6: a token
 *   is bound to its client, and another one learns nothing about it);
 * - `ended`: its session ended (logout, revocation, a password change…);
 * - `spent`: it was exchanged already, so presenting it again is reuse
 *   (RFC 9700 §4.14.2), whether or not it has expired since;
 * - `expired`: it, or its session, outlived REFRESH_TOKEN_TTL.
 *
 * The order is the order of the checks: a token of another client says
 * nothing more, and a spent token is reuse even once expired.
 */
export type RefreshTokenState =
  'live' | 'other_client' | 'ended' | 'spent' | 'expired';

export function refreshTokenState(
  token: { spentAt: Date | null; expiresAt: Date },
  session: { clientId: string; endedAt: Date | null; expiresAt: Date },
  {
    presentedBy,
    now,
  }: {
    /** The client exchanging it; absent when a resource server only looks at it (introspection). */
    presentedBy?: string;
    now: Date;
  },
): RefreshTokenState {
  if (presentedBy !== undefined && session.clientId !== presentedBy)
    return 'other_client';
  if (session.endedAt !== null) return 'ended';
  if (token.spentAt !== null) return 'spent';
  // A session expires with its newest token, the only one not spent: either date says it.
  if (token.expiresAt <= now || session.expiresAt <= now) return 'expired';
  return 'live';
}
