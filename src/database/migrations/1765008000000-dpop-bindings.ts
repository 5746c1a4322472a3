import type { MigrationInterface, QueryRunner } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import { Table, TableColumn, TableIndex } from 'typeorm';
import { columnTypes } from './column-types.js';

/**
 * DPoP (RFC 9449): the key a public client's session is bound to (§5),
 * whether a client must always send a proof (§5.2,
 * `dpop_bound_access_tokens`), and the `jti`s of used proofs, remembered
 * until their `iat` is out of the window so that a proof is used once,
 * whichever instance receives it.
 */
export class DpopBindings1765008000000 implements MigrationInterface {
  name = 'DpopBindings1765008000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const driver = queryRunner.connection.driver;
    const { timestamp } = columnTypes(queryRunner);
    // Plain ALTER TABLE, which both engines have: TypeORM's addColumn would
    // rebuild the sessions table on SQLite, every row copied. The RFC 7638
    // SHA-256 thumbprint, base64url, is 43 characters.
    await queryRunner.query(
      `ALTER TABLE ${driver.escape('sessions')} ADD COLUMN ${driver.escape('dpopJkt')} varchar(64)`,
    );
    await queryRunner.addColumn(
      'clients',
      new TableColumn({
        name: 'dpopBoundAccessTokens',
        type: 'boolean',
        // A literal as this engine writes it in a DEFAULT clause (SQLite 0, PostgreSQL false).
        default: driver.normalizeDefault({ default: false } as ColumnMetadata),
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'dpop_proof_jtis',
        columns: [
          // SHA-256 of the key's thumbprint and the jti: a fixed width, whatever the jti.
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'expiresAt', type: timestamp },
        ],
        indices: [
          new TableIndex({
            name: 'IDX_dpop_proof_jtis_expiresAt',
            columnNames: ['expiresAt'],
          }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('dpop_proof_jtis');
    await queryRunner.dropColumn('clients', 'dpopBoundAccessTokens');
    const driver = queryRunner.connection.driver;
    await queryRunner.query(
      `ALTER TABLE ${driver.escape('sessions')} DROP COLUMN ${driver.escape('dpopJkt')}`,
    );
  }
}
