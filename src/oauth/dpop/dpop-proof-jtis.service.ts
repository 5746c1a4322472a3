import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { SingleUseIds } from '../single-use-ids.js';
import { DpopProofJti } from './dpop-proof-jti.entity.js';

/**
 * The `jti`s of used DPoP proofs, in the database every instance shares,
 * so a proof captured on its way to one instance is refused by the other.
 */
@Injectable()
export class DpopProofJtis extends SingleUseIds {
  constructor(@InjectDataSource() dataSource: DataSource) {
    super(dataSource, DpopProofJti, 'DPoP proof jti', DpopProofJtis.name);
  }

  /**
   * Records the use of `jti` by the key `jkt`; false if it was used before.
   * Per key: §11.1 asks only that one key's proofs are not replayed, and a
   * thumbprint has no space in it, so no two pairs hash alike.
   */
  use(jkt: string, jti: string, expiresAt: Date): Promise<boolean> {
    const id = createHash('sha256')
      .update(`${jkt} ${jti}`, 'utf8')
      .digest('hex');
    return this.useOnce(id, expiresAt);
  }
}
