import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import type { EntityManager } from 'typeorm';
import { DataSource, In, IsNull, Not, Repository } from 'typeorm';
import type { Actor } from '../../access/actor.js';
import { SecurityEvents } from '../../audit/security-events.service.js';
import { inTransaction } from '../../database/transaction.js';
import type { ConfiguredKey } from './configured-key.js';
import type { StoredPair } from './key-material.js';
import {
  generateStoredPair,
  SIGNING_ALGORITHM,
  SIGNING_KEYS_LOG_CONTEXT,
} from './key-material.js';
import { SigningKey } from './signing-key.entity.js';

/** Instances adding keys at once settle within a few rounds; more is a fault. */
const MAX_RECORD_ATTEMPTS = 5;

/**
 * The `signing_keys` table, shared by every instance: each write is made
 * so that instances racing to make the same one end up with one key, not
 * two (the generation is unique).
 */
@Injectable()
export class SigningKeyStore {
  private readonly logger = new Logger(SIGNING_KEYS_LOG_CONTEXT);

  constructor(
    @InjectRepository(SigningKey) private readonly keys: Repository<SigningKey>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly events: SecurityEvents,
  ) {}

  /** Every stored key, newest generation first. */
  all(): Promise<SigningKey[]> {
    return this.keys.find({ order: { generation: 'DESC' } });
  }

  /**
   * Adds a new key pair one generation above the newest, and records it in
   * the audit log; `actor` is empty when the command rotates.
   */
  async addRotatedKey(
    actor: Actor,
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
    return { kid: pair.kid, generation };
  }

  /**
   * A retired key verifies nothing, so its private half is of use only to
   * someone forging tokens for a verifier that still trusts it: it goes.
   * One UPDATE, a no-op when another instance erased it first.
   */
  async erasePrivateKeys(kids: string[]): Promise<void> {
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

  /**
   * Makes the configured key the newest generation, as a row with only its
   * public half, so that every stored key has a successor and retires after
   * the usual overlap, on every instance and across restarts: the row's
   * createdAt is when an instance first saw this key. Instances starting
   * together agree, as the unique generation lets one insert land; an
   * instance that loses to another's new key tries the next generation.
   * `retentionMs` is only for the message.
   */
  async recordConfiguredKey(
    key: ConfiguredKey,
    retentionMs: number,
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
          `the keys stored before it verify their tokens for ${Math.ceil(retentionMs / 60_000)} more minutes, then retire`,
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
  async ensureStoredKey(): Promise<void> {
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
