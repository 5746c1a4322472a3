import { createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { DataSource } from 'typeorm';
import { SigningKey } from '../../src/oauth/keys/signing-key.entity.js';
import type { TestApp } from './test-app.js';

/** Seconds since the epoch, the unit of JWT `iat`/`exp` (RFC 7519 §2 NumericDate). */
export const now = () => Math.floor(Date.now() / 1000);

/** The app's published JWK Set (RFC 7517 §5), which must answer 200. */
export const jwksOf = async (testApp: TestApp) =>
  (await testApp.http().get('/.well-known/jwks.json').expect(200)).body as {
    keys: JWK[];
  };

/** The service's signing key, read from the database, to forge tokens with. */
export async function readServiceKey(testApp: TestApp): Promise<{
  kid: string;
  privateKey: KeyObject;
  publicKeyPem: string;
}> {
  const [row] = await testApp.app
    .get(DataSource)
    .getRepository(SigningKey)
    .find({ order: { generation: 'DESC' } });
  return {
    kid: row.kid,
    privateKey: privateKeyOf(row),
    publicKeyPem: row.publicKey,
  };
}

/** A stored key's private half, which a configured or retired key's row lacks. */
export function privateKeyOf(row: SigningKey): KeyObject {
  if (row.privateKey === null)
    throw new Error(`signing key ${row.kid} has no private key stored`);
  return createPrivateKey(row.privateKey);
}
