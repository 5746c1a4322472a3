import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import bcrypt from 'bcrypt';
import type { AppConfig } from '../../config/env.js';
import { PASSWORD_MAX_BYTES } from './password-policy.service.js';

/**
 * bcrypt through its async API, which runs on the libuv pool: a login never
 * blocks the event loop that serves every other request.
 */
@Injectable()
export class PasswordHasher {
  private readonly cost: number;
  /** Compared against when a user is unknown, or to make up for an older hash's lower cost. */
  private readonly dummyHashes = new Map<number, Promise<string>>();

  constructor(config: ConfigService<AppConfig, true>) {
    this.cost = config.get('BCRYPT_COST', { infer: true });
    if (this.cost < 10) {
      new Logger(PasswordHasher.name).warn(
        `BCRYPT_COST=${this.cost} is below 10: fine for tests, too cheap to crack for production`,
      );
    }
  }

  hash(password: string): Promise<string> {
    return bcrypt.hash(password.normalize('NFKC'), this.cost);
  }

  /**
   * False for a password bcrypt would have to truncate: none such was ever
   * stored. Takes the time of a comparison at today's cost whatever the
   * hash's own: after a BCRYPT_COST raise, an account whose hash is older
   * would otherwise answer faster than an unknown username (verifyNothing),
   * and timing would tell which names exist.
   */
  async verify(password: string, hash: string): Promise<boolean> {
    const normalized = password.normalize('NFKC');
    const matches = await bcrypt.compare(normalized, hash);
    await this.spendUpToCost(normalized, bcrypt.getRounds(hash));
    return (
      matches && Buffer.byteLength(normalized, 'utf8') <= PASSWORD_MAX_BYTES
    );
  }

  /**
   * Spends the time of one comparison, so that a login for an unknown
   * username takes as long as a wrong password for a known one.
   */
  async verifyNothing(password: string): Promise<false> {
    await bcrypt.compare(
      password.normalize('NFKC'),
      await this.dummyHash(this.cost),
    );
    return false;
  }

  /**
   * bcrypt's work doubles with each cost step, so what a comparison at
   * `spent` lacks of one at today's cost is 2^cost − 2^spent = 2^spent +
   * 2^(spent+1) + … + 2^(cost−1): one dummy comparison at each of those
   * costs, in turn, spends exactly the difference.
   */
  private async spendUpToCost(password: string, spent: number): Promise<void> {
    for (let cost = spent; cost < this.cost; cost++) {
      await bcrypt.compare(password, await this.dummyHash(cost));
    }
  }

  /** A hash of no password anyone has, made once per cost. */
  private dummyHash(cost: number): Promise<string> {
    let hash = this.dummyHashes.get(cost);
    if (hash === undefined) {
      hash = bcrypt.hash('not a password of anyone', cost);
      this.dummyHashes.set(cost, hash);
    }
    return hash;
  }

  /** A hash made at a lower cost than today's is replaced on the next login. */
  needsRehash(hash: string): boolean {
    return bcrypt.getRounds(hash) < this.cost;
  }
}
