import type { MigrationInterface, QueryRunner } from 'typeorm';
import { Table } from 'typeorm';

/**
 * Written with TypeORM's schema-building API and the driver's own type
 * names, so one migration builds the same schema on every engine.
 */
export class CreateUsersAndSigningKeys1764316800000 implements MigrationInterface {
  name = 'CreateUsersAndSigningKeys1764316800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const driver = queryRunner.connection.driver;
    const timestamp = driver.normalizeType({ type: Date });
    const now = driver.mappedDataTypes.createDateDefault;

    await queryRunner.createTable(
      new Table({
        name: 'users',
        columns: [
          {
            name: 'id',
            type: driver.normalizeType({ type: 'uuid' }),
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'uuid',
          },
          { name: 'username', type: 'varchar', length: '64', isUnique: true },
          { name: 'passwordHash', type: 'varchar', length: '60' },
          { name: 'isActive', type: 'boolean', default: true },
          { name: 'roles', type: 'text' },
          { name: 'tokensValidAfter', type: timestamp, isNullable: true },
          { name: 'createdAt', type: timestamp, default: now },
          { name: 'updatedAt', type: timestamp, default: now },
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'signing_keys',
        columns: [
          { name: 'kid', type: 'varchar', length: '64', isPrimary: true },
          { name: 'generation', type: 'integer', isUnique: true },
          { name: 'algorithm', type: 'varchar', length: '16' },
          { name: 'publicKey', type: 'text' },
          { name: 'privateKey', type: 'text' },
          { name: 'createdAt', type: timestamp, default: now },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('signing_keys');
    await queryRunner.dropTable('users');
  }
}
