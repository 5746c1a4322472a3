import type { CryptoKey, JWK } from 'jose';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createHash, randomUUID } from 'node:crypto';
import { now } from './tokens.js';

/** A client's DPoP key pair (RFC 9449 §4): the private half signs, the public goes in each proof. */
export interface DpopSigner {
  privateKey: CryptoKey;
  jwk: JWK;
}

export async function dpopSigner(): Promise<DpopSigner> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { privateKey, jwk: await exportJWK(publicKey) };
}

/** RFC 9449 §4.2: a proof for one request; with `accessToken`, its `ath` (§4.3). */
export function dpopProof(
  key: DpopSigner,
  htm: string,
  htu: string,
  accessToken?: string,
): Promise<string> {
  return new SignJWT({
    htm,
    htu,
    jti: randomUUID(),
    iat: now(),
    ...(accessToken === undefined
      ? {}
      : {
          ath: createHash('sha256').update(accessToken).digest('base64url'),
        }),
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.jwk })
    .sign(key.privateKey);
}
