import type { MigrationInterface, QueryRunner } from 'typeorm';
import { Table, TableForeignKey, TableIndex } from 'typeorm';
import { columnTypes } from './column-types.js';

/** Refresh-token families (sessions), their tokens, and service clients. */
export class CreateSessionsAndClients1764403200000 implements MigrationInterface {
  name = 'CreateSessionsAndClients1764403200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const { uuid, timestamp, now, stringList } = columnTypes(queryRunner);

    await queryRunner.createTable(
      new Table({
        name: 'sessions',
        columns: [
          {
            name: 'id',
            type: uuid,
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'uuid',
          },
          { name: 'userId', type: uuid },
          { name: 'clientId', type: 'varchar', length: '64' },
          { name: 'scope', type: 'varchar', length: '512' },
          {
            name: 'userAgent',
            type: 'varchar',
            length: '512',
            isNullable: true,
          },
          {
            name: 'ipAddress',
            type: 'varchar',
            length: '64',
            isNullable: true,
          },
          { name: 'createdAt', type: timestamp, default: now },
          { name: 'lastUsedAt', type: timestamp },
          { name: 'expiresAt', type: timestamp },
          { name: 'endedAt', type: timestamp, isNullable: true },
          {
            name: 'endReason',
            type: 'varchar',
            length: '32',
            isNullable: true,
          },
        ],
        indices: [
          new TableIndex({
            name: 'IDX_sessions_userId',
            columnNames: ['userId'],
          }),
        ],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_sessions_userId',
            columnNames: ['userId'],
            referencedTableName: 'users',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'refresh_tokens',
        columns: [
          { name: 'tokenHash', type: 'varchar', length: '64', isPrimary: true },
          { name: 'sessionId', type: uuid },
          { name: 'createdAt', type: timestamp, default: now },
          { name: 'expiresAt', type: timestamp },
          { name: 'spentAt', type: timestamp, isNullable: true },
        ],
        indices: [
          new TableIndex({
            name: 'IDX_refresh_tokens_sessionId',
            columnNames: ['sessionId'],
          }),
        ],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_refresh_tokens_sessionId',
            columnNames: ['sessionId'],
            referencedTableName: 'sessions',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'clients',
        columns: [
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'name', type: 'varchar', length: '100' },
          { name: 'secretHash', type: 'varchar', length: '64' },
          { name: 'allowedScopes', ...stringList },
          { name: 'allowedGrantTypes', ...stringList },
          { name: 'createdAt', type: timestamp, default: now },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('clients');
    await queryRunner.dropTable('refresh_tokens');
    await queryRunner.dropTable('sessions');
  }
}
