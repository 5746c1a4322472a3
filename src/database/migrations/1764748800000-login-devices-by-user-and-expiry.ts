import type { MigrationInterface, QueryRunner } from 'typeorm';
import { TableIndex } from 'typeorm';

/**
 * A login from a new device removes the account's expired devices and the
 * least recently used beyond a cap: both read the account's devices by
 * expiry, which an index on userId alone made a scan of every device the
 * account ever had.
 */
export class LoginDevicesByUserAndExpiry1764748800000 implements MigrationInterface {
  name = 'LoginDevicesByUserAndExpiry1764748800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createIndex(
      'login_devices',
      new TableIndex({
        name: 'IDX_login_devices_userId_expiresAt',
        columnNames: ['userId', 'expiresAt'],
      }),
    );
    // The new index leads with userId: it serves every lookup the old one did.
    await queryRunner.dropIndex('login_devices', 'IDX_login_devices_userId');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createIndex(
      'login_devices',
      new TableIndex({
        name: 'IDX_login_devices_userId',
        columnNames: ['userId'],
      }),
    );
    await queryRunner.dropIndex(
      'login_devices',
      'IDX_login_devices_userId_expiresAt',
    );
  }
}
