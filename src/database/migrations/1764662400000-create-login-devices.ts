import type { MigrationInterface, QueryRunner } from 'typeorm';
import { Table, TableForeignKey, TableIndex } from 'typeorm';
import { columnTypes } from './column-types.js';

/** The devices whose logins have a back-off of their own (device cookies). */
export class CreateLoginDevices1764662400000 implements MigrationInterface {
  name = 'CreateLoginDevices1764662400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const { uuid, timestamp } = columnTypes(queryRunner);

    await queryRunner.createTable(
      new Table({
        name: 'login_devices',
        columns: [
          {
            name: 'id',
            type: uuid,
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'uuid',
          },
          { name: 'secretHash', type: 'varchar', length: '64' },
          { name: 'userId', type: uuid },
          { name: 'createdAt', type: timestamp },
          { name: 'expiresAt', type: timestamp },
        ],
        indices: [
          new TableIndex({
            name: 'UQ_login_devices_secretHash',
            columnNames: ['secretHash'],
            isUnique: true,
          }),
          new TableIndex({
            name: 'IDX_login_devices_userId',
            columnNames: ['userId'],
          }),
        ],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_login_devices_userId',
            columnNames: ['userId'],
            referencedTableName: 'users',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('login_devices');
  }
}
