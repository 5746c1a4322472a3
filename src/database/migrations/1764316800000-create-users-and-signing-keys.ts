import type { MigrationInterface, QueryRunner } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import { Table } from 'typeorm';
import { columnTypes } from './column-types.js';

/**
 * Written with TypeORM's schema-building API and the driver's own type
 * names, so one migration builds the same schema on every engine.
 */
export class CreateUsersAndSigningKeys1764316800000 implements MigrationInterface {
  name = 'CreateUsersAndSigningKeys1764316800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const driver = queryRunner.connection.driver;
    const { uuid, timestamp, now, stringList } = columnTypes(queryRunner);
    // A literal as this engine writes it in a DEFAULT clause (SQLite 1, PostgreSQL true).
    const literal = (value: unknown) =>
      driver.normalizeDefault({ default: value } as ColumnMetadata);

    await queryRunner.createTable(
      new Table({
        name: 'users',
        columns: [
          {
            name: 'id',
            type: uuid,
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'uuid',
          },
          { name: 'username', type: 'varchar', length: '64' },
          { name: 'passwordHash', type: 'varchar', length: '60' },
          { name: 'isActive', type: 'boolean', default: literal(true) },
          { name: 'roles', ...stringList },
          { name: 'tokensValidAfter', type: timestamp, isNullable: true },
          { name: 'createdAt', type: timestamp, default: now },
          { name: 'updatedAt', type: timestamp, default: now },
        ],
        uniques: [{ name: 'UQ_users_username', columnNames: ['username'] }],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'signing_keys',
        columns: [
          { name: 'kid', type: 'varchar', length: '64', isPrimary: true },
          { name: 'generation', type: 'integer' },
          { name: 'algorithm', type: 'varchar', length: '16' },
          { name: 'publicKey', type: 'text' },
          { name: 'privateKey', type: 'text' },
          { name: 'createdAt', type: timestamp, default: now },
        ],
        uniques: [
          { name: 'UQ_signing_keys_generation', columnNames: ['generation'] },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('signing_keys');
    await queryRunner.dropTable('users');
  }
}
