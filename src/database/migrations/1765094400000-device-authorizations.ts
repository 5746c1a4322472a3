import type { MigrationInterface, QueryRunner } from 'typeorm';
import { Table, TableForeignKey, TableIndex } from 'typeorm';
import { columnTypes } from './column-types.js';

/** The device flow's pending authorizations (RFC 8628), shared by every instance. */
export class DeviceAuthorizations1765094400000 implements MigrationInterface {
  name = 'DeviceAuthorizations1765094400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const { uuid, timestamp, now } = columnTypes(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'device_authorizations',
        columns: [
          {
            name: 'id',
            type: uuid,
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'uuid',
          },
          { name: 'deviceCodeHash', type: 'varchar', length: '64' },
          { name: 'userCode', type: 'varchar', length: '8' },
          { name: 'clientId', type: 'varchar', length: '64' },
          {
            name: 'requestedScope',
            type: 'text',
            isNullable: true,
          },
          {
            name: 'resource',
            type: 'varchar',
            length: '512',
            isNullable: true,
          },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'userId', type: uuid, isNullable: true },
          {
            name: 'grantedScope',
            type: 'text',
            isNullable: true,
          },
          { name: 'pollInterval', type: 'integer' },
          { name: 'lastPolledAt', type: timestamp, isNullable: true },
          { name: 'decidedAt', type: timestamp, isNullable: true },
          { name: 'expiresAt', type: timestamp },
          { name: 'createdAt', type: timestamp, default: now },
        ],
        indices: [
          new TableIndex({
            name: 'UQ_device_authorizations_deviceCodeHash',
            columnNames: ['deviceCodeHash'],
            isUnique: true,
          }),
          new TableIndex({
            name: 'UQ_device_authorizations_userCode',
            columnNames: ['userCode'],
            isUnique: true,
          }),
          new TableIndex({
            name: 'IDX_device_authorizations_expiresAt',
            columnNames: ['expiresAt'],
          }),
        ],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_device_authorizations_clientId',
            columnNames: ['clientId'],
            referencedTableName: 'clients',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
          new TableForeignKey({
            name: 'FK_device_authorizations_userId',
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
    await queryRunner.dropTable('device_authorizations');
  }
}
