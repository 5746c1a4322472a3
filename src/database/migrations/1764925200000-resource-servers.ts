import type { MigrationInterface, QueryRunner } from 'typeorm';
import { Table, TableColumn, TableForeignKey, TableIndex } from 'typeorm';
import { columnTypes } from './column-types.js';

/**
 * The APIs that accept this service's tokens (RFC 8707 resources), the
 * clients each lets ask for its tokens (and with which of its scopes), and
 * the API a session's scopes belong to (none: this service itself, as
 * every session before). Deleting an API or a client deletes what joined
 * them, so an API registered again starts with no client allowed. A
 * session also keeps the grant it started with: one a user consented to for
 * an API does not refresh into tokens for another.
 */
export class ResourceServers1764925200000 implements MigrationInterface {
  name = 'ResourceServers1764925200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const { timestamp, json, now } = columnTypes(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'resource_servers',
        columns: [
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'identifier', type: 'varchar', length: '512' },
          { name: 'name', type: 'varchar', length: '100' },
          { name: 'scopes', type: json },
          { name: 'createdAt', type: timestamp, default: now },
        ],
        indices: [
          new TableIndex({
            name: 'UQ_resource_servers_identifier',
            columnNames: ['identifier'],
            isUnique: true,
          }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'resource_server_clients',
        columns: [
          {
            name: 'resourceServerId',
            type: 'varchar',
            length: '64',
            isPrimary: true,
          },
          { name: 'clientId', type: 'varchar', length: '64', isPrimary: true },
          { name: 'scopes', type: json },
          { name: 'exchangeFrom', type: json },
          { name: 'impersonation', type: 'boolean' },
          { name: 'createdAt', type: timestamp, default: now },
        ],
        indices: [
          new TableIndex({
            name: 'IDX_resource_server_clients_clientId',
            columnNames: ['clientId'],
          }),
        ],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_resource_server_clients_resourceServerId',
            columnNames: ['resourceServerId'],
            referencedTableName: 'resource_servers',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
          new TableForeignKey({
            name: 'FK_resource_server_clients_clientId',
            columnNames: ['clientId'],
            referencedTableName: 'clients',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );
    await queryRunner.addColumn(
      'sessions',
      new TableColumn({
        name: 'resource',
        type: 'varchar',
        length: '512',
        isNullable: true,
      }),
    );
    // How the session started; null (sessions from before) is the password grant.
    await queryRunner.addColumn(
      'sessions',
      new TableColumn({
        name: 'grantType',
        type: 'varchar',
        length: '32',
        isNullable: true,
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // A session for an API would turn into one for this service: end them instead.
    const driver = queryRunner.connection.driver;
    await queryRunner.query(
      `DELETE FROM ${driver.escape('sessions')} WHERE ${driver.escape('resource')} IS NOT NULL`,
    );
    await queryRunner.dropColumn('sessions', 'grantType');
    await queryRunner.dropColumn('sessions', 'resource');
    await queryRunner.dropTable('resource_server_clients');
    await queryRunner.dropTable('resource_servers');
  }
}
