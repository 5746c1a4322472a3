import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { JWK } from 'jose';
import type { KeyObject } from 'node:crypto';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import type { Actor } from '../../access/actor.js';
import type { AppConfig } from '../../config/env.js';
import type { ConfiguredKey } from './configured-key.js';
import { readConfiguredKey } from './configured-key.js';
import type { LoadedKey } from './key-material.js';
import { SIGNING_KEYS_LOG_CONTEXT, toLoadedKey } from './key-material.js';
import { keyRetentionMs, keyRing, verifyingKids } from './key-ring.js';
import { SigningKeyStore } from './signing-key-store.service.js';

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
 * The keys that sign access tokens and the public keys that verify them,
 * as this instance holds them. A key from the environment wins; otherwise
 * the newest key in the database that has its private half signs, created
 * on first start, so every instance sharing the database signs and
 * verifies alike. Which key signs, which verify and which retire is the
 * key ring's decision (key-ring.ts); the table is SigningKeyStore's.
 *
 * A configured key is a newer generation too: the first instance that
 * sees it records its public half as the newest row, so the stored keys
 * before it retire after the same overlap, counted from that moment.
 */
@Injectable()
export class SigningKeysService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(SIGNING_KEYS_LOG_CONTEXT);
  private readonly retentionMs: number;
  private readonly refreshIntervalMs: number;
  private configuredKey?: ConfiguredKey;
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
    private readonly store: SigningKeyStore,
    private readonly config: ConfigService<AppConfig, true>,
  ) {
    this.refreshIntervalMs =
      config.get('SIGNING_KEYS_REFRESH_SECONDS', { infer: true }) * 1000;
    this.retentionMs = keyRetentionMs(
      this.refreshIntervalMs,
      config.get('ACCESS_TOKEN_TTL', { infer: true }) * 1000,
    );
  }

  async onModuleInit(): Promise<void> {
    this.configuredKey = await readConfiguredKey(this.config);
    if (this.configuredKey === undefined) await this.store.ensureStoredKey();
    else
      await this.store.recordConfiguredKey(
        this.configuredKey,
        this.retentionMs,
      );
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
    const key = this.signer();
    if (key?.privateKey === undefined)
      throw new Error('No signing key is loaded');
    return { kid: key.kid, privateKey: key.privateKey };
  }

  /** RFC 7517 JWK Set of every key whose tokens may still be presented. */
  get jwks(): { keys: JWK[] } {
    return { keys: this.liveKeys().map((key) => key.jwk) };
  }

  /**
   * Whether a key this instance has loaded still verifies tokens: for a
   * token checked before, whose key is known, so no table re-read applies.
   */
  isLive(kid: string): boolean {
    return this.findLive(kid) !== undefined;
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
    const rotated = await this.store.addRotatedKey(actor);
    await this.reload();
    return rotated;
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
    const rows = await this.store.all();
    const now = Date.now();
    const loaded = new Map(this.storedKeys.map((key) => [key.kid, key]));
    const ring = keyRing(
      rows.map((row) => ({
        kid: row.kid,
        generation: row.generation,
        createdAt: row.createdAt,
        hasPrivateKey: row.privateKey !== null,
      })),
      {
        now,
        retentionMs: this.retentionMs,
        configured: this.configuredKey !== undefined,
        held: new Set(
          this.storedKeys
            .filter((key) => key.privateKey !== undefined)
            .map((key) => key.kid),
        ),
      },
    );
    const rowOf = new Map(rows.map((row) => [row.kid, row]));
    const keys: LoadedKey[] = [];
    for (const { kid, retiresAt } of ring.live) {
      const row = rowOf.get(kid)!;
      // Parsed on an earlier load, or now.
      const known =
        loaded.get(kid) ??
        (await toLoadedKey(undefined, createPublicKey(row.publicKey)));
      // Only the signer keeps a private half in memory.
      const privateKey =
        kid === ring.signer
          ? (loaded.get(kid)?.privateKey ?? createPrivateKey(row.privateKey!))
          : undefined;
      keys.push({ ...known, privateKey, retiresAt });
    }
    const signedWith = this.signer()?.kid;
    this.storedKeys = keys;
    this.lastLoadedAt = now;
    // A rotation, here or by another instance: the log says when this one followed.
    if (
      ring.signer !== undefined &&
      signedWith !== undefined &&
      ring.signer !== signedWith
    ) {
      this.logger.log(
        `New tokens are signed with key generation ${rowOf.get(ring.signer)!.generation} (kid ${ring.signer})`,
      );
    }
    // Only when instances disagree on JWT_PRIVATE_KEY: the keys that another one's configured key succeeded have retired.
    if (
      this.configuredKey === undefined &&
      ring.signer === undefined &&
      signedWith !== undefined
    ) {
      this.logger.error(
        'No live signing key has its private key in the database: set the same JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE as the other instances, or restart without it on all of them',
      );
    }
    await this.store.erasePrivateKeys(ring.toErase);
  }

  private signer(): LoadedKey | undefined {
    return (
      this.configuredKey ??
      this.storedKeys.find((stored) => stored.privateKey !== undefined)
    );
  }

  /** The configured key and every stored key not retired by now. */
  private liveKeys(): LoadedKey[] {
    const configured = this.configuredKey;
    const byKid = new Map(this.storedKeys.map((key) => [key.kid, key]));
    return verifyingKids(this.storedKeys, {
      now: Date.now(),
      configured: configured?.kid,
    }).map((kid) => (kid === configured?.kid ? configured : byKid.get(kid)!));
  }

  private findLive(kid: string): LoadedKey | undefined {
    return this.liveKeys().find((key) => key.kid === kid);
  }
}
