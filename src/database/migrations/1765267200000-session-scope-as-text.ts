import type { MigrationInterface, QueryRunner, Table } from 'typeorm';
import { TableColumn } from 'typeorm';

/**
 * A session's scopes as text, without a length: an API may define fifty
 * scopes of 64 characters, and a login with all of them overflowed
 * varchar(512) on PostgreSQL (a 500). Every session is kept: PostgreSQL
 * changes the type in place (TypeORM's changeColumn would drop the column
 * and add it again, empty); SQLite, which never enforced the length, has
 * its table rebuilt by TypeORM, every row copied.
 */
export class SessionScopeAsText1765267200000 implements MigrationInterface {
  name = 'SessionScopeAsText1765267200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await changeScopeType(queryRunner, 'text');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // A longer scope would not fit back: such sessions end (their users log in again).
    const driver = queryRunner.connection.driver;
    await queryRunner.query(
      `DELETE FROM ${driver.escape('sessions')} WHERE length(${driver.escape('scope')}) > 512`,
    );
    await changeScopeType(queryRunner, 'varchar(512)');
  }
}

async function changeScopeType(
  queryRunner: QueryRunner,
  type: 'text' | 'varchar(512)',
): Promise<void> {
  const driver = queryRunner.connection.driver;
  if (driver.options.type === 'postgres') {
    await queryRunner.query(
      `ALTER TABLE ${driver.escape('sessions')} ALTER COLUMN ${driver.escape('scope')} TYPE ${type}`,
    );
    return;
  }
  await queryRunner.changeColumn(
    await sessionsAsStored(queryRunner),
    'scope',
    new TableColumn(
      type === 'text'
        ? { name: 'scope', type: 'text' }
        : { name: 'scope', type: 'varchar', length: '512' },
    ),
  );
}

/**
 * The sessions table read from the database now, not from the query
 * runner's cache: the cache predates 1765008000000's plain ALTER TABLE, so
 * a SQLite rebuild from it would leave out (and so drop) `dpopJkt`.
 */
async function sessionsAsStored(queryRunner: QueryRunner): Promise<Table> {
  const table = await queryRunner.getTable('sessions');
  if (table === undefined) throw new Error('The sessions table is missing.');
  return table;
}
