import type { MigrationInterface, QueryRunner } from 'typeorm';
import { TableColumn } from 'typeorm';

/**
 * A signing key's row may hold only its public half: the row that records
 * a key from JWT_PRIVATE_KEY (whose private half stays out of the database),
 * and a retired key, whose private half is erased.
 */
export class SigningKeysWithoutPrivateKey1764576000000 implements MigrationInterface {
  name = 'SigningKeysWithoutPrivateKey1764576000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // SQLite cannot alter a column: TypeORM rebuilds the table, rows included.
    await queryRunner.changeColumn(
      'signing_keys',
      'privateKey',
      new TableColumn({ name: 'privateKey', type: 'text', isNullable: true }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // The old schema has no place for a key without its private half; such
    // a key signs nothing, so the older code loses no signer with it.
    const driver = queryRunner.connection.driver;
    await queryRunner.query(
      `DELETE FROM ${driver.escape('signing_keys')} WHERE ${driver.escape('privateKey')} IS NULL`,
    );
    await queryRunner.changeColumn(
      'signing_keys',
      'privateKey',
      new TableColumn({ name: 'privateKey', type: 'text' }),
    );
  }
}
