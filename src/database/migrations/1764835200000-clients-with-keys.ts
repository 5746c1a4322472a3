import type { MigrationInterface, QueryRunner } from 'typeorm';
import { Table, TableColumn, TableIndex } from 'typeorm';
import { columnTypes } from './column-types.js';

/**
 * Clients that authenticate with keys (private_key_jwt): their JWKS, no
 * secret; and the `jti`s of their assertions, remembered until they expire
 * so that an assertion is used once, whichever instance receives it.
 */
export class ClientsWithKeys1764835200000 implements MigrationInterface {
  name = 'ClientsWithKeys1764835200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const { timestamp, json } = columnTypes(queryRunner);
    // SQLite cannot alter a column: TypeORM rebuilds the table, rows included.
    await queryRunner.changeColumn(
      'clients',
      'secretHash',
      new TableColumn({
        name: 'secretHash',
        type: 'varchar',
        length: '64',
        isNullable: true,
      }),
    );
    await queryRunner.addColumn(
      'clients',
      new TableColumn({ name: 'jwks', type: json, isNullable: true }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'client_assertion_jtis',
        columns: [
          // SHA-256 of the client id and the jti: a fixed width, whatever the jti.
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'expiresAt', type: timestamp },
        ],
        indices: [
          new TableIndex({
            name: 'IDX_client_assertion_jtis_expiresAt',
            columnNames: ['expiresAt'],
          }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('client_assertion_jtis');
    // The old schema has no place for a client without a secret; such a
    // client could not authenticate with the older code anyway.
    const driver = queryRunner.connection.driver;
    await queryRunner.query(
      `DELETE FROM ${driver.escape('clients')} WHERE ${driver.escape('secretHash')} IS NULL`,
    );
    await queryRunner.dropColumn('clients', 'jwks');
    await queryRunner.changeColumn(
      'clients',
      'secretHash',
      new TableColumn({ name: 'secretHash', type: 'varchar', length: '64' }),
    );
  }
}
