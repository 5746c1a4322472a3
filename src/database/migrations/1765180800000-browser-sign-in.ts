import type { MigrationInterface, QueryRunner } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import { Table, TableColumn, TableForeignKey, TableIndex } from 'typeorm';
import { columnTypes } from './column-types.js';

/**
 * Signing people in through a browser (RFC 6749 §4.1 with PKCE): what a
 * client needs for it (its type, redirect URIs, whether it is the
 * company's own), the authorization codes, the server's own browser
 * sessions, and the consents people gave to clients. Every client
 * registered before stays a confidential one with no redirect URI, its
 * secret or keys unchanged. The database holds all of it, so that any
 * instance reads a browser session or redeems a code another one issued.
 */
export class BrowserSignIn1765180800000 implements MigrationInterface {
  name = 'BrowserSignIn1765180800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const { uuid, timestamp, json } = columnTypes(queryRunner);
    const driver = queryRunner.connection.driver;
    await queryRunner.addColumns('clients', [
      new TableColumn({
        name: 'clientType',
        type: 'varchar',
        length: '16',
        default: "'confidential'",
      }),
      new TableColumn({ name: 'redirectUris', type: json, isNullable: true }),
      new TableColumn({
        name: 'firstParty',
        type: 'boolean',
        // A literal as this engine writes it in a DEFAULT clause (SQLite 0, PostgreSQL false).
        default: driver.normalizeDefault({ default: false } as ColumnMetadata),
      }),
    ]);
    const userKey = (table: string) =>
      new TableForeignKey({
        name: `FK_${table}_userId`,
        columnNames: ['userId'],
        referencedTableName: 'users',
        referencedColumnNames: ['id'],
        onDelete: 'CASCADE',
      });
    const clientKey = (table: string) =>
      new TableForeignKey({
        name: `FK_${table}_clientId`,
        columnNames: ['clientId'],
        referencedTableName: 'clients',
        referencedColumnNames: ['id'],
        onDelete: 'CASCADE',
      });
    await queryRunner.createTable(
      new Table({
        name: 'authorization_codes',
        columns: [
          // SHA-256 of the code: a copy of the table redeems nothing.
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'clientId', type: 'varchar', length: '64' },
          { name: 'userId', type: uuid },
          { name: 'redirectUri', type: 'varchar', length: '2000' },
          { name: 'codeChallenge', type: 'varchar', length: '128' },
          { name: 'scope', type: 'text' },
          {
            name: 'resource',
            type: 'varchar',
            length: '512',
            isNullable: true,
          },
          { name: 'sessionId', type: uuid, isNullable: true },
          { name: 'createdAt', type: timestamp },
          { name: 'expiresAt', type: timestamp },
          { name: 'usedAt', type: timestamp, isNullable: true },
        ],
        indices: [
          new TableIndex({
            name: 'IDX_authorization_codes_expiresAt',
            columnNames: ['expiresAt'],
          }),
        ],
        foreignKeys: [
          clientKey('authorization_codes'),
          userKey('authorization_codes'),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'browser_sessions',
        columns: [
          // SHA-256 of the cookie's secret.
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'userId', type: uuid, isNullable: true },
          { name: 'authenticatedAt', type: timestamp, isNullable: true },
          { name: 'createdAt', type: timestamp },
          { name: 'expiresAt', type: timestamp },
        ],
        indices: [
          new TableIndex({
            name: 'IDX_browser_sessions_expiresAt',
            columnNames: ['expiresAt'],
          }),
          new TableIndex({
            name: 'IDX_browser_sessions_userId',
            columnNames: ['userId'],
          }),
        ],
        foreignKeys: [userKey('browser_sessions')],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'consents',
        columns: [
          { name: 'userId', type: uuid, isPrimary: true },
          { name: 'clientId', type: 'varchar', length: '64', isPrimary: true },
          // The access token's audience the scopes belong to (this service, or an API).
          { name: 'audience', type: 'varchar', length: '512', isPrimary: true },
          { name: 'scopes', type: json },
          { name: 'grantedAt', type: timestamp },
        ],
        indices: [
          new TableIndex({
            name: 'IDX_consents_clientId',
            columnNames: ['clientId'],
          }),
        ],
        foreignKeys: [userKey('consents'), clientKey('consents')],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('consents');
    await queryRunner.dropTable('browser_sessions');
    await queryRunner.dropTable('authorization_codes');
    // A public client cannot authenticate as the confidential one it would turn into.
    const driver = queryRunner.connection.driver;
    await queryRunner.query(
      `DELETE FROM ${driver.escape('clients')} WHERE ${driver.escape('clientType')} = 'public'`,
    );
    await queryRunner.dropColumns('clients', [
      'firstParty',
      'redirectUris',
      'clientType',
    ]);
  }
}
