import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 256 random bits, base64url: an opaque token or client secret. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * SHA-256, hex. Enough for 256-bit random secrets, which no dictionary
 * covers; passwords, which people choose, use bcrypt instead.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Compares a presented secret with a stored hash in constant time. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const presented = Buffer.from(hashSecret(secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return (
    presented.length === stored.length && timingSafeEqual(presented, stored)
  );
}
