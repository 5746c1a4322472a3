import type { JWK } from 'jose';
import { calculateJwkThumbprint } from 'jose';
import type { KeyObject } from 'node:crypto';
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';

/**
 * RS256: RFC 9068 §4 makes it the one algorithm every resource server must
 * support, and its verification, the cost every other service pays on each
 * request, is the cheapest of the asymmetric choices (see the README).
 */
export const SIGNING_ALGORITHM = 'RS256';
export const RSA_MODULUS_BITS = 2048;

/** Every part of the keys' work logs under the one name operators know it by. */
export const SIGNING_KEYS_LOG_CONTEXT = 'SigningKeysService';

/**
 * A key parsed once into KeyObjects: a PEM string would be re-parsed on
 * every verification.
 */
export interface LoadedKey {
  kid: string;
  privateKey?: KeyObject;
  publicKey: KeyObject;
  jwk: JWK;
  /**
   * When no token this key signed can still be live (epoch ms); unset for
   * the newest key and for the configured key, which never retire.
   */
  retiresAt?: number;
}

/** A new key pair as the `signing_keys` table keeps it. */
export interface StoredPair {
  kid: string;
  /** SPKI PEM. */
  publicKey: string;
  /** PKCS#8 PEM. */
  privateKey: string;
}

export async function generateStoredPair(): Promise<StoredPair> {
  const { publicKey, privateKey } = await promisify(generateKeyPair)('rsa', {
    modulusLength: RSA_MODULUS_BITS,
  });
  const { kid } = await toLoadedKey(undefined, publicKey);
  return {
    kid,
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** The key with its RFC 7638 thumbprint as `kid` and its public JWK. */
export async function toLoadedKey(
  privateKey: KeyObject | undefined,
  publicKey: KeyObject,
): Promise<LoadedKey> {
  const { kty, n, e } = publicKey.export({ format: 'jwk' });
  const kid = await calculateJwkThumbprint({ kty, n, e }, 'sha256');
  return {
    kid,
    privateKey,
    publicKey,
    jwk: { kty, n, e, kid, alg: SIGNING_ALGORITHM, use: 'sig' },
  };
}
