import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
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
import type { EntityManager } from 'typeorm';
import { DataSource, Repository } from 'typeorm';
import type { Actor } from '../../audit/actor.js';
import { SecurityEvents } from '../../audit/security-events.service.js';
import type { AppConfig } from '../../config/env.js';
import { inTransaction } from '../../database/transaction.js';
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
/**
 * Every instance re-reads the stored keys this often by default
 * (SIGNING_KEYS_REFRESH_SECONDS), so that a rotation made by another
 * instance (or by the `keys:rotate` command) is picked up without a
 * restart, and retired keys leave its JWKS.
 */
export const REFRESH_INTERVAL_MS = 60_000;
/**
 * RFC 7519 §4.1.4 lets a verifier allow "some small leeway" for clock skew
 * on `exp`; the clocks of this service and of its verifiers may disagree
 * by as much, so a key outlives its last token's `exp` by this margin.
 */
export const CLOCK_SKEW_MS = 60_000;

interface LoadedKey {
  kid: string;
  privateKey?: KeyObject;
  publicKey: KeyObject;
  jwk: JWK;
  /**
   * When no token this key signed can still be live (epoch ms); unset for
   * the key that signs now and for the configured key, which never retire.
   */
  retiresAt?: number;
}

/**
 * The keys that sign access tokens and the public keys that verify them.
 * A key from the environment wins; otherwise the newest key in the
 * database signs, created on first start, so every instance sharing the
 * database signs and verifies alike. Keys are parsed once into KeyObjects:
 * a PEM string would be re-parsed on every verification.
 *
 * Rotation adds a newer generation, which signs from then on. An older key
 * stays published and usable for verification (RFC 7517 §5: a JWK Set
 * holds every key a verifier may meet) only while a token it signed can
 * still be live. Then it is retired, here and in every verifier that
 * refetches the set, so an old key that leaks later (from a backup of the
 * database, say) no longer makes tokens anyone accepts.
 */
@Injectable()
export class SigningKeysService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(SigningKeysService.name);
  private readonly retentionMs: number;
  private readonly refreshIntervalMs: number;
  private configuredKey?: LoadedKey;
  /** Newest generation first; keys already retired when loaded are left out. */
  private storedKeys: LoadedKey[] = [];
  private lastLoadedAt = 0;
  /** Loads overlap (timer, unknown kid, rotation): only a newer one may land. */
  private loadsStarted = 0;
  private loadApplied = 0;
  private refreshTimer?: NodeJS.Timeout;

  constructor(
    @InjectRepository(SigningKey) private readonly keys: Repository<SigningKey>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly events: SecurityEvents,
    private readonly config: ConfigService<AppConfig, true>,
  ) {
    /*
     * After a rotation, instances that have not refreshed yet keep signing
     * with the old key for up to one refresh interval; the last such token
     * lives ACCESS_TOKEN_TTL more, and verifiers' clocks may run late.
     */
    this.refreshIntervalMs =
      config.get('SIGNING_KEYS_REFRESH_SECONDS', { infer: true }) * 1000;
    this.retentionMs =
      this.refreshIntervalMs +
      config.get('ACCESS_TOKEN_TTL', { infer: true }) * 1000 +
      CLOCK_SKEW_MS;
  }

  async onModuleInit(): Promise<void> {
    this.configuredKey = await this.loadConfiguredKey();
    if (this.configuredKey === undefined) await this.ensureStoredKey();
    await this.reload();
    this.refreshTimer = setInterval(() => {
      this.reload().catch((error: unknown) => {
        // The keys loaded before stay in use; the next refresh tries again.
        this.logger.warn(
          `Could not re-read the signing keys: ${error instanceof Error ? error.message : String(error)}`,
        );
      });
    }, this.refreshIntervalMs);
    // A pending refresh must not keep a command or a test process alive.
    this.refreshTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.refreshTimer);
    this.refreshTimer = undefined;
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
    return { keys: this.liveKeys().map((key) => key.jwk) };
  }

  /**
   * The public key for a token's `kid`. A key added by another instance
   * (a rotation) is found by re-reading the table, at most every few
   * seconds so that made-up kids cannot turn into a query each. A retired
   * key is no key: a token it signed has expired, or was forged with it.
   */
  async verificationKey(kid: string): Promise<KeyObject | undefined> {
    const known = this.findLive(kid);
    if (
      known !== undefined ||
      Date.now() - this.lastLoadedAt < RELOAD_INTERVAL_MS
    ) {
      return known?.publicKey;
    }
    await this.reload();
    return this.findLive(kid)?.publicKey;
  }

  /**
   * Adds a new key pair, one generation above the newest, which signs every
   * token from now on; this instance uses it at once, the others at their
   * next refresh. Tokens signed before keep verifying until they expire.
   * The audit log records it; `actor` is empty when the command rotates.
   */
  async rotate(
    actor: Actor = {},
  ): Promise<{ kid: string; generation: number }> {
    const pair = await generateStoredPair();
    let generation = (await this.newestGeneration()) + 1;
    try {
      await this.insertRotatedKey(pair, generation, actor);
    } catch (error) {
      // Another instance rotated at the same moment and took this
      // generation (it is unique): take the next. Only once, as a second
      // collision is no longer a race; and when the generation is still
      // free, the failure is of another kind and is not retried.
      const newest = await this.newestGeneration();
      if (newest < generation) throw error;
      generation = newest + 1;
      await this.insertRotatedKey(pair, generation, actor);
    }
    await this.reload();
    if (this.configuredKey !== undefined) {
      this.logger.warn(
        `Stored signing key generation ${generation} (kid ${pair.kid}), but the key from the environment keeps signing: remove JWT_PRIVATE_KEY/JWT_PRIVATE_KEY_FILE to use it`,
      );
    }
    return { kid: pair.kid, generation };
  }

  /**
   * Re-reads the stored keys: the periodic refresh and an unknown `kid`
   * call it, and so may a test after changing the table.
   */
  async reload(): Promise<void> {
    const load = ++this.loadsStarted;
    const rows = await this.keys.find({ order: { generation: 'DESC' } });
    const now = Date.now();
    const loaded = new Map(this.storedKeys.map((key) => [key.kid, key]));
    const keys: LoadedKey[] = [];
    for (const [index, row] of rows.entries()) {
      const successor = rows[index - 1];
      const retiresAt =
        successor === undefined
          ? undefined
          : successor.createdAt.getTime() + this.retentionMs;
      if (retiresAt !== undefined && retiresAt <= now) continue;
      const signs = index === 0;
      const known = loaded.get(row.kid);
      if (known !== undefined && (!signs || known.privateKey !== undefined)) {
        // Parsed on an earlier load; a key that no longer signs lets go of its private half.
        keys.push({
          ...known,
          privateKey: signs ? known.privateKey : undefined,
          retiresAt,
        });
        continue;
      }
      const key = await toLoadedKey(
        signs ? createPrivateKey(row.privateKey) : undefined,
        createPublicKey(row.publicKey),
      );
      keys.push({ ...key, retiresAt });
    }
    if (load < this.loadApplied) return;
    const signedWith = this.storedKeys[0]?.kid;
    this.loadApplied = load;
    this.storedKeys = keys;
    this.lastLoadedAt = now;
    // A rotation, here or by another instance: the log says when this one followed.
    if (
      this.configuredKey === undefined &&
      signedWith !== undefined &&
      keys[0]?.kid !== signedWith
    ) {
      this.logger.log(
        `New tokens are signed with key generation ${rows[0].generation} (kid ${keys[0].kid})`,
      );
    }
  }

  /** The configured key and every stored key not retired by now. */
  private liveKeys(): LoadedKey[] {
    const now = Date.now();
    const stored = this.storedKeys.filter(
      (key) => key.retiresAt === undefined || now < key.retiresAt,
    );
    return this.configuredKey ? [this.configuredKey, ...stored] : stored;
  }

  private findLive(kid: string): LoadedKey | undefined {
    return this.liveKeys().find((key) => key.kid === kid);
  }

  private async newestGeneration(): Promise<number> {
    return (await this.keys.maximum('generation')) ?? 0;
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
    const pair = await generateStoredPair();
    await this.insertKey(pair, 1, { orIgnore: true });
    // The instance whose insert lost the race says nothing: it uses the winner's key.
    if (await this.keys.existsBy({ kid: pair.kid })) {
      this.logger.log(
        'Generated the first signing key and stored it in the database',
      );
    }
  }

  private insertRotatedKey(
    pair: StoredPair,
    generation: number,
    actor: Actor,
  ): Promise<void> {
    return inTransaction(this.dataSource, async (manager) => {
      await this.insertKey(pair, generation, { manager });
      await this.events.record(
        {
          type: 'signing_key.rotated',
          details: { kid: pair.kid, generation },
        },
        actor,
        manager,
      );
    });
  }

  private async insertKey(
    pair: StoredPair,
    generation: number,
    {
      orIgnore = false,
      manager = this.keys.manager,
    }: { orIgnore?: boolean; manager?: EntityManager } = {},
  ): Promise<void> {
    const insert = manager
      .getRepository(SigningKey)
      .createQueryBuilder()
      .insert()
      .values({
        kid: pair.kid,
        generation,
        algorithm: SIGNING_ALGORITHM,
        publicKey: pair.publicKey,
        privateKey: pair.privateKey,
      });
    await (orIgnore ? insert.orIgnore() : insert).execute();
  }
}

/** A new key pair as the `signing_keys` table keeps it. */
interface StoredPair {
  kid: string;
  /** SPKI PEM. */
  publicKey: string;
  /** PKCS#8 PEM. */
  privateKey: string;
}

async function generateStoredPair(): Promise<StoredPair> {
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

async function toLoadedKey(
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
