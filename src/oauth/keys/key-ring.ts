/**
 * Which signing keys are in use, decided from the stored rows alone, with
 * no I/O: which key signs, which verify, when each retires, and which
 * private halves must be erased.
 *
 * Rotation adds a newer generation, which signs from then on. An older key
 * stays published and usable for verification (RFC 7517 §5: a JWK Set
 * holds every key a verifier may meet) only while a token it signed can
 * still be live: `retentionMs` after its successor was created. Then it is
 * retired, and its private half is erased from the table, so an old key
 * that leaks later (from a backup of the database, say) no longer makes
 * tokens anyone accepts.
 */

/**
 * RFC 7519 §4.1.4 lets a verifier allow "some small leeway" for clock skew
 * on `exp`; the clocks of this service and of its verifiers may disagree
 * by as much, so a key outlives its last token's `exp` by this margin.
 */
export const CLOCK_SKEW_MS = 60_000;

/**
 * How long a key keeps verifying once a newer one exists. After a
 * rotation, instances that have not refreshed yet keep signing with the
 * old key for up to one refresh interval; the last such token lives
 * ACCESS_TOKEN_TTL more, and verifiers' clocks may run late.
 */
export function keyRetentionMs(
  refreshIntervalMs: number,
  accessTokenTtlMs: number,
): number {
  return refreshIntervalMs + accessTokenTtlMs + CLOCK_SKEW_MS;
}

/** What the ring needs of a `signing_keys` row. */
export interface StoredKeyRow {
  kid: string;
  generation: number;
  createdAt: Date;
  /** Whether the row still holds its private half. */
  hasPrivateKey: boolean;
}

export interface LiveKey {
  kid: string;
  /**
   * When no token this key signed can still be live (epoch ms); unset for
   * the newest key, which never retires while it is the newest.
   */
  retiresAt?: number;
}

export interface KeyRing {
  /** Newest generation first: the stored keys not retired at `now`. */
  live: LiveKey[];
  /**
   * The stored key that signs: with no configured key, the newest live key
   * whose private half this instance holds or the table has (a retired
   * key's is erased; a configured key's never stored). Unset while a key is
   * configured, as that one signs, and when no live key has a private half.
   */
  signer?: string;
  /** Retired keys whose private half is still in the table: to erase. */
  toErase: string[];
}

/**
 * The ring at `now`. `rows` may come in any order. `held`: the kids whose
 * private half this instance already holds in memory, from an earlier read.
 */
export function keyRing(
  rows: readonly StoredKeyRow[],
  {
    now,
    retentionMs,
    configured,
    held = new Set(),
  }: {
    now: number;
    retentionMs: number;
    /** Whether a key is configured (JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE). */
    configured: boolean;
    held?: ReadonlySet<string>;
  },
): KeyRing {
  const newestFirst = [...rows].sort((a, b) => b.generation - a.generation);
  const live: (LiveKey & { row: StoredKeyRow })[] = [];
  const toErase: string[] = [];
  for (const [index, row] of newestFirst.entries()) {
    const successor = newestFirst[index - 1];
    const retiresAt =
      successor === undefined
        ? undefined
        : successor.createdAt.getTime() + retentionMs;
    if (retiresAt === undefined || now < retiresAt) {
      live.push({ kid: row.kid, retiresAt, row });
    } else if (row.hasPrivateKey) {
      toErase.push(row.kid);
    }
  }
  const signer = configured
    ? undefined
    : live.find(({ row }) => held.has(row.kid) || row.hasPrivateKey)?.kid;
  return {
    live: live.map(({ kid, retiresAt }) =>
      retiresAt === undefined ? { kid } : { kid, retiresAt },
    ),
    signer,
    toErase,
  };
}

/**
 * The kids that verify tokens at `now`: the configured key first (once,
 * though its row is stored too), then every stored key not retired yet.
 * Keys go on retiring between two reads of the table.
 */
export function verifyingKids(
  live: readonly LiveKey[],
  { now, configured }: { now: number; configured?: string },
): string[] {
  const stored = live
    .filter(
      (key) =>
        key.kid !== configured &&
        (key.retiresAt === undefined || now < key.retiresAt),
    )
    .map((key) => key.kid);
  return configured === undefined ? stored : [configured, ...stored];
}
