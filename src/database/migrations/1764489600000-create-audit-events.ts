import type { MigrationInterface, QueryRunner } from 'typeorm';
import { Table, TableIndex } from 'typeorm';
import { columnTypes } from './column-types.js';

/**
 * The audit log. No foreign key on userId: the events of a deleted user
 * are the record of what happened to that account, and must outlive it.
 */
export class CreateAuditEvents1764489600000 implements MigrationInterface {
  name = 'CreateAuditEvents1764489600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const { uuid, timestamp, json } = columnTypes(queryRunner);

    await queryRunner.createTable(
      new Table({
        name: 'audit_events',
        columns: [
          {
            name: 'id',
            type: uuid,
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'uuid',
          },
          { name: 'occurredAt', type: timestamp },
          { name: 'type', type: 'varchar', length: '64' },
          { name: 'userId', type: uuid, isNullable: true },
          { name: 'username', type: 'varchar', length: '64', isNullable: true },
          { name: 'actorId', type: 'varchar', length: '64', isNullable: true },
          { name: 'clientId', type: 'varchar', length: '64', isNullable: true },
          {
            name: 'ipAddress',
            type: 'varchar',
            length: '64',
            isNullable: true,
          },
          {
            name: 'userAgent',
            type: 'varchar',
            length: '512',
            isNullable: true,
          },
          { name: 'details', type: json, isNullable: true },
        ],
        indices: [
          new TableIndex({
            name: 'IDX_audit_events_occurredAt',
            columnNames: ['occurredAt'],
          }),
          new TableIndex({
            name: 'IDX_audit_events_userId_occurredAt',
            columnNames: ['userId', 'occurredAt'],
          }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('audit_events');
  }
}
