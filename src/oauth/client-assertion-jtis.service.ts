import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { ClientAssertionJti } from './client-assertion-jti.entity.js';
import { SingleUseIds } from './single-use-ids.js';

/** The `jti`s of used client assertions, in the database every instance shares. */
@Injectable()
export class ClientAssertionJtis extends SingleUseIds {
  constructor(@InjectDataSource() dataSource: DataSource) {
    super(
      dataSource,
      ClientAssertionJti,
      'Client assertion jti',
      ClientAssertionJtis.name,
    );
  }

  /** Records the use of `jti` by `clientId`; false if it was used before and has not expired. */
  use(clientId: string, jti: string, expiresAt: Date): Promise<boolean> {
    const id = createHash('sha256')
      .update(`${clientId} ${jti}`, 'utf8')
      .digest('hex');
    return this.useOnce(id, expiresAt);
  }
}
