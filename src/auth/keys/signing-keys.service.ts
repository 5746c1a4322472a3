import type { OnModuleInit } from '@nestjs/common';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import type { JWK } from 'jose';
import { calculateJwkThumbprint } from 'jose';
import type { KeyObject } from 'node:crypto';
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
} from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { Repository } from 'typeorm';
import type { AppConfig } from '../../config/env.js';
import { SigningKey } from './signing-key.entity.js';

/**
 * RS256: RFC 9068 §4 makes it the one algorithm every resource server must
 * support, and its verification, the cost every other service pays on each
 * request, is the cheapest of the asymmetric choices (see the README).
 */
export const SIGNING_ALGORITHM = 'RS256';
const RSA_MODULUS_BITS = 2048;
/** A token with an unknown `kid` re-reads the keys at most this often. */
const RELOAD_INTERVAL_MS = 5_000;

interface LoadedKey {
  kid: string;
  privateKey?: KeyObject;
  publicKey: KeyObject;
  jwk: JWK;
}

/**
 * The keys that sign access tokens and the public keys that verify them.
 * A key from the environment wins; otherwise the newest key in the
 * database signs, created on first start, so every instance sharing the
 * database signs and verifies alike. Keys are parsed once into KeyObjects:
 * a PEM string would be re-parsed on every verification.
 */
@Injectable()
export class SigningKeysService implements OnModuleInit {
  private readonly logger = new Logger(SigningKeysService.name);
  private configuredKey?: LoadedKey;
  private storedKeys: LoadedKey[] = [];
  private lastLoadedAt = 0;

  constructor(
    @InjectRepository(SigningKey) private readonly keys: Repository<SigningKey>,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  async onModuleInit(): Promise<void> {
    this.configuredKey = await this.loadConfiguredKey();
    if (this.configuredKey === undefined) await this.ensureStoredKey();
    await this.loadStoredKeys();
  }

  /** The key new access tokens are signed with. */
  get signingKey(): { kid: string; privateKey: KeyObject } {
    const key = this.configuredKey ?? this.storedKeys[0];
    if (key?.privateKey === undefined)
      throw new Error('No signing key is loaded');
    return { kid: key.kid, privateKey: key.privateKey };
  }

  /** RFC 7517 JWK Set of every key whose tokens may still be presented. */
  get jwks(): { keys: JWK[] } {
    const all = this.configuredKey
      ? [this.configuredKey, ...this.storedKeys]
      : this.storedKeys;
    return { keys: all.map((key) => key.jwk) };
  }

  /**
   * The public key for a token's `kid`. A key added by another instance
   * (a rotation) is found by re-reading the table, at most every few
   * seconds so that made-up kids cannot turn into a query each.
   */
  async verificationKey(kid: string): Promise<KeyObject | undefined> {
    const known = this.findLoaded(kid);
    if (
      known !== undefined ||
      Date.now() - this.lastLoadedAt < RELOAD_INTERVAL_MS
    ) {
      return known?.publicKey;
    }
    await this.loadStoredKeys();
    return this.findLoaded(kid)?.publicKey;
  }

  private findLoaded(kid: string): LoadedKey | undefined {
    if (this.configuredKey?.kid === kid) return this.configuredKey;
    return this.storedKeys.find((key) => key.kid === kid);
  }

  private async loadConfiguredKey(): Promise<LoadedKey | undefined> {
    const file = this.config.get('JWT_PRIVATE_KEY_FILE', { infer: true });
    const variable =
      file === undefined ? 'JWT_PRIVATE_KEY' : 'JWT_PRIVATE_KEY_FILE';
    let privateKey: KeyObject;
    try {
      const pem =
        file === undefined
          ? this.config.get('JWT_PRIVATE_KEY', { infer: true })
          : await readFile(file, 'utf8');
      if (pem === undefined) return undefined;
      privateKey = createPrivateKey(pem);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(
        `Invalid configuration:\n  ${variable}: not a readable PEM private key (${reason})`,
        { cause: error },
      );
    }
    if (
      privateKey.asymmetricKeyType !== 'rsa' ||
      (privateKey.asymmetricKeyDetails?.modulusLength ?? 0) < RSA_MODULUS_BITS
    ) {
      throw new Error(
        `Invalid configuration:\n  ${variable}: must be an RSA key of at least ${RSA_MODULUS_BITS} bits (tokens are ${SIGNING_ALGORITHM})`,
      );
    }
    this.logger.log(`Signing access tokens with the key from ${variable}`);
    return toLoadedKey(privateKey, createPublicKey(privateKey));
  }

  /**
   * Creates generation 1 unless a key exists. Two instances starting
   * together on an empty database both try; the unique generation lets
   * exactly one insert land, and both then read the same key.
   */
  private async ensureStoredKey(): Promise<void> {
    if ((await this.keys.count()) > 0) return;
    const { publicKey, privateKey } = await promisify(generateKeyPair)('rsa', {
      modulusLength: RSA_MODULUS_BITS,
    });
    const { kid } = await toLoadedKey(privateKey, publicKey);
    await this.keys
      .createQueryBuilder()
      .insert()
      .values({
        kid,
        generation: 1,
        algorithm: SIGNING_ALGORITHM,
        publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        privateKey: privateKey
          .export({ type: 'pkcs8', format: 'pem' })
          .toString(),
      })
      .orIgnore()
      .execute();
    this.logger.log(
      'Generated the first signing key and stored it in the database',
    );
  }

  private async loadStoredKeys(): Promise<void> {
    const rows = await this.keys.find({ order: { generation: 'DESC' } });
    this.storedKeys = await Promise.all(
      rows.map((row) =>
        toLoadedKey(
          createPrivateKey(row.privateKey),
          createPublicKey(row.publicKey),
        ),
      ),
    );
    this.lastLoadedAt = Date.now();
  }
}

async function toLoadedKey(
  privateKey: KeyObject,
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
