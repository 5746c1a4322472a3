import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import bcrypt from 'bcrypt';
import type { AppConfig } from '../config/env.js';
import { PASSWORD_MAX_BYTES } from './password-policy.service.js';

/**
 * bcrypt through its async API, which runs on the libuv pool: a login never
 * blocks the event loop that serves every other request.
 */
@Injectable()
export class PasswordHasher {
  private readonly cost: number;
  /** Compared against when a user is unknown, at the configured cost. */
  private dummyHash?: Promise<string>;

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

  /** False for a password bcrypt would have to truncate: none such was ever stored. */
  async verify(password: string, hash: string): Promise<boolean> {
    const normalized = password.normalize('NFKC');
    const matches = await bcrypt.compare(normalized, hash);
    return (
      matches && Buffer.byteLength(normalized, 'utf8') <= PASSWORD_MAX_BYTES
    );
  }

  /**
   * Spends the time of one comparison, so that a login for an unknown
   * username takes as long as a wrong password for a known one.
   */
  async verifyNothing(password: string): Promise<false> {
    this.dummyHash ??= bcrypt.hash('not a password of anyone', this.cost);
    await bcrypt.compare(password.normalize('NFKC'), await this.dummyHash);
    return false;
  }

  /** A hash made at a lower cost than today's is replaced on the next login. */
  needsRehash(hash: string): boolean {
    return bcrypt.getRounds(hash) < this.cost;
  }
}
