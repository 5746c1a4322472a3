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
import { DataSource, In, IsNull, Not, Repository } from 'typeorm';
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
export const RELOAD_INTERVAL_MS = 5_000;
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
/** Instances adding keys at once settle within a few rounds; more is a fault. */
const MAX_RECORD_ATTEMPTS = 5;

interface LoadedKey {
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

/** The variable a configured key came from, for the messages that name it. */
type KeyVariable = 'JWT_PRIVATE_KEY' | 'JWT_PRIVATE_KEY_FILE';

/**
 * The keys that sign access tokens and the public keys that verify them.
 * A key from the environment wins; otherwise the newest key in the
 * database that has its private half signs, created on first start, so
 * every instance sharing the database signs and verifies alike. Keys are
 * parsed once into KeyObjects: a PEM string would be re-parsed on every
 * verification.
 *
 * Rotation adds a newer generation, which signs from then on. An older key
 * stays published and usable for verification (RFC 7517 §5: a JWK Set
 * holds every key a verifier may meet) only while a token it signed can
 * still be live. Then it is retired, here and in every verifier that
 * refetches the set, and its private half is erased from the table, so an
 * old key that leaks later (from a backup of the database, say) no longer
 * makes tokens anyone accepts.
 *
 * A configured key is such a newer generation too: the first instance that
 * sees it records its public half as the newest row, so the stored keys
 * before it retire after the same overlap, counted from that moment.
 */
@Injectable()
export class SigningKeysService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(SigningKeysService.name);
  private readonly retentionMs: number;
  private readonly refreshIntervalMs: number;
  private configuredKey?: LoadedKey & { variable: KeyVariable };
  /**
   * Newest generation first; keys already retired when loaded are left
   * out. The configured key's row is among them, without its private half.
   */
  private storedKeys: LoadedKey[] = [];
  private lastLoadedAt = 0;
  /**
   * The read of the table under way. There is at most one, shared by every
   * caller that needs one (the timer, unknown kids, a rotation), so reads
   * never overlap and a burst of made-up kids costs one query.
   */
  private loading?: Promise<void>;
  /** The read queued behind it, for callers that must see their own change. */
  private nextLoading?: Promise<void>;
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
    else await this.recordConfiguredKey(this.configuredKey);
    await this.reload();
    this.refreshTimer = setInterval(() => {
      this.refresh().catch((error: unknown) => {
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
    const key =
      this.configuredKey ??
      this.storedKeys.find((stored) => stored.privateKey !== undefined);
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
   * seconds, and by one read shared by all the requests that wait for it,
   * so that made-up kids cannot turn into a query each. A retired key is
   * no key: a token it signed has expired, or was forged with it.
   */
  async verificationKey(kid: string): Promise<KeyObject | undefined> {
    const known = this.findLive(kid);
    if (
      known !== undefined ||
      Date.now() - this.lastLoadedAt < RELOAD_INTERVAL_MS
    ) {
      return known?.publicKey;
    }
    await this.refresh();
    return this.findLive(kid)?.publicKey;
  }

  /**
   * Adds a new key pair, one generation above the newest, which signs every
   * token from now on; this instance uses it at once, the others at their
   * next refresh. Tokens signed before keep verifying until they expire.
   * The audit log records it; `actor` is empty when the command rotates.
   *
   * Refused while a key is configured: that key signs whatever is stored,
   * and a stored key would only widen what verifies.
   */
  async rotate(
    actor: Actor = {},
  ): Promise<{ kid: string; generation: number }> {
    if (this.configuredKey !== undefined) {
      const { variable } = this.configuredKey;
      throw new Error(
        `Not rotated: the key in ${variable} signs every token, so a key stored in the database would never sign. ` +
          `To rotate it, put the new key in ${variable} and restart the instances (the current key keeps verifying its tokens until they expire); ` +
          `to go back to keys kept in the database, unset ${variable} and restart.`,
      );
    }
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
    return { kid: pair.kid, generation };
  }

  /**
   * Re-reads the stored keys in a read that begins after this call, so the
   * caller sees what it just changed (a rotation; a test that edits the
   * table). A read already under way is waited for first.
   */
  reload(): Promise<void> {
    if (this.loading === undefined) return this.startLoading();
    this.nextLoading ??= this.loading
      .catch(() => undefined)
      .then(() => {
        this.nextLoading = undefined;
        return this.refresh();
      });
    return this.nextLoading;
  }

  /** The read under way, or a new one: for callers that want recent keys, not a change of their own. */
  private refresh(): Promise<void> {
    return this.loading ?? this.startLoading();
  }

  private startLoading(): Promise<void> {
    const loading = this.load().finally(() => {
      if (this.loading === loading) this.loading = undefined;
    });
    this.loading = loading;
    return loading;
  }

  private async load(): Promise<void> {
    const rows = await this.keys.find({ order: { generation: 'DESC' } });
    const now = Date.now();
    const loaded = new Map(this.storedKeys.map((key) => [key.kid, key]));
    const live: { row: SigningKey; retiresAt?: number }[] = [];
    const retiredWithPrivateKey: string[] = [];
    for (const [index, row] of rows.entries()) {
      const successor = rows[index - 1];
      const retiresAt =
        successor === undefined
          ? undefined
          : successor.createdAt.getTime() + this.retentionMs;
      if (retiresAt === undefined || now < retiresAt) {
        live.push({ row, retiresAt });
      } else if (row.privateKey !== null) {
        retiredWithPrivateKey.push(row.kid);
      }
    }
    const signer =
      this.configuredKey === undefined ? signerOf(live, loaded) : undefined;
    const keys: LoadedKey[] = [];
    for (const { row, retiresAt } of live) {
      // Only the signer keeps a private half in memory.
      const privateKey = row === signer?.row ? signer.privateKey : undefined;
      // Parsed on an earlier load, or now.
      const known =
        loaded.get(row.kid) ??
        (await toLoadedKey(undefined, createPublicKey(row.publicKey)));
      keys.push({ ...known, privateKey, retiresAt });
    }
    const signedWith = this.signingKeyKid();
    this.storedKeys = keys;
    this.lastLoadedAt = now;
    // A rotation, here or by another instance: the log says when this one followed.
    if (
      signer !== undefined &&
      signedWith !== undefined &&
      signer.row.kid !== signedWith
    ) {
      this.logger.log(
        `New tokens are signed with key generation ${signer.row.generation} (kid ${signer.row.kid})`,
      );
    }
    // Only when instances disagree on JWT_PRIVATE_KEY: the keys that another one's configured key succeeded have retired.
    if (
      this.configuredKey === undefined &&
      signer === undefined &&
      signedWith !== undefined
    ) {
      this.logger.error(
        'No live signing key has its private key in the database: set the same JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE as the other instances, or restart without it on all of them',
      );
    }
    await this.eraseRetiredPrivateKeys(retiredWithPrivateKey);
  }

  /**
   * A retired key verifies nothing, so its private half is of use only to
   * someone forging tokens for a verifier that still trusts it: it goes.
   * One UPDATE, a no-op when another instance erased it first.
   */
  private async eraseRetiredPrivateKeys(kids: string[]): Promise<void> {
    if (kids.length === 0) return;
    try {
      await this.keys.update(
        { kid: In(kids), privateKey: Not(IsNull()) },
        { privateKey: null },
      );
    } catch (error) {
      // They are retired in memory already; the next load tries again.
      this.logger.warn(
        `Could not erase the private keys of retired signing keys ${kids.join(', ')}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  private signingKeyKid(): string | undefined {
    return (
      this.configuredKey ??
      this.storedKeys.find((stored) => stored.privateKey !== undefined)
    )?.kid;
  }

  /**
   * The configured key (once, though its row is stored too) and every
   * stored key not retired by now.
   */
  private liveKeys(): LoadedKey[] {
    const now = Date.now();
    const configured = this.configuredKey;
    const stored = this.storedKeys.filter(
      (key) =>
        key.kid !== configured?.kid &&
        (key.retiresAt === undefined || now < key.retiresAt),
    );
    return configured ? [configured, ...stored] : stored;
  }

  private findLive(kid: string): LoadedKey | undefined {
    return this.liveKeys().find((key) => key.kid === kid);
  }

  private async newestGeneration(): Promise<number> {
    return (await this.keys.maximum('generation')) ?? 0;
  }

  private async newestKey(): Promise<SigningKey | undefined> {
    const [newest] = await this.keys.find({
      order: { generation: 'DESC' },
      take: 1,
    });
    return newest;
  }

  private async loadConfiguredKey(): Promise<
    (LoadedKey & { variable: KeyVariable }) | undefined
  > {
    const file = this.config.get('JWT_PRIVATE_KEY_FILE', { infer: true });
    const variable: KeyVariable =
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
    return {
      ...(await toLoadedKey(privateKey, createPublicKey(privateKey))),
      variable,
    };
  }

  /**
   * Makes the configured key the newest generation, as a row with only its
   * public half, so that every stored key has a successor and retires after
   * the usual overlap, on every instance and across restarts: the row's
   * createdAt is when an instance first saw this key. Instances starting
   * together agree, as the unique generation lets one insert land; an
   * instance that loses to another's new key tries the next generation.
   */
  private async recordConfiguredKey(
    key: LoadedKey & { variable: KeyVariable },
  ): Promise<void> {
    const publicKey = key.publicKey
      .export({ type: 'spki', format: 'pem' })
      .toString();
    let recorded: number | undefined;
    for (let attempt = 1; ; attempt++) {
      const newest = await this.newestKey();
      if (newest?.kid === key.kid) break;
      if (attempt > MAX_RECORD_ATTEMPTS) {
        throw new Error(
          `Could not record the key from ${key.variable} as the newest signing key: other keys kept being added`,
        );
      }
      recorded = (newest?.generation ?? 0) + 1;
      const generation = recorded;
      await inTransaction(this.dataSource, async (manager) => {
        // Configured before and replaced since: it becomes the newest again, first seen now.
        await manager.getRepository(SigningKey).delete({ kid: key.kid });
        await this.insertKey(
          { kid: key.kid, publicKey, privateKey: null },
          generation,
          { orIgnore: true, manager },
        );
      });
    }
    // The operator may have moved the stored key itself into the variable: the database lets go of it.
    await this.keys.update(
      { kid: key.kid, privateKey: Not(IsNull()) },
      { privateKey: null },
    );
    if (recorded !== undefined) {
      this.logger.log(
        `Recorded the key from ${key.variable} (kid ${key.kid}) as signing key generation ${recorded}: ` +
          `the keys stored before it verify their tokens for ${Math.ceil(this.retentionMs / 60_000)} more minutes, then retire`,
      );
    }
  }

  /**
   * Creates a key unless the newest one can sign: on first start, and when
   * a configured key is no longer set (its row has no private half; it
   * keeps verifying its tokens for the usual overlap). Two instances
   * starting together both try; the unique generation lets exactly one
   * insert land, and both then read the same key.
   */
  private async ensureStoredKey(): Promise<void> {
    const newest = await this.newestKey();
    if (newest !== undefined && newest.privateKey !== null) return;
    const pair = await generateStoredPair();
    const generation = (newest?.generation ?? 0) + 1;
    await this.insertKey(pair, generation, { orIgnore: true });
    // The instance whose insert lost the race says nothing: it uses the winner's key.
    if (await this.keys.existsBy({ kid: pair.kid })) {
      this.logger.log(
        newest === undefined
          ? 'Generated the first signing key and stored it in the database'
          : `Generated signing key generation ${generation} and stored it in the database: the newest key (kid ${newest.kid}) came from JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE, which is no longer set`,
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
    pair: { kid: string; publicKey: string; privateKey: string | null },
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

/**
 * The signer when no key is configured: the newest live key whose private
 * half is in the table (a retired one's is erased; a configured key's never
 * stored), or still in memory from an earlier load.
 */
function signerOf(
  live: { row: SigningKey }[],
  loaded: Map<string, LoadedKey>,
): { row: SigningKey; privateKey: KeyObject } | undefined {
  for (const { row } of live) {
    const held = loaded.get(row.kid)?.privateKey;
    if (held !== undefined) return { row, privateKey: held };
    if (row.privateKey !== null)
      return { row, privateKey: createPrivateKey(row.privateKey) };
  }
  return undefined;
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
