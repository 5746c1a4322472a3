import type { QueryRunner, TableColumnOptions } from 'typeorm';

/**
 * The column types the migrations build with, per engine, so that one set
 * of migrations serves SQLite and PostgreSQL (see the README, "Database").
 * Migrations that already ran on someone's database depend on these: never
 * change what an engine gets here; a later migration that needs another
 * type names it itself.
 */
export function columnTypes(queryRunner: QueryRunner) {
  const driver = queryRunner.connection.driver;
  const postgres = driver.options.type === 'postgres';
  return {
    uuid: driver.normalizeType({ type: 'uuid' }),
    /** An instant: PostgreSQL keeps it with its zone; SQLite has `datetime`. */
    timestamp: postgres
      ? 'timestamp with time zone'
      : driver.normalizeType({ type: Date }),
    /** The engine's "now" for a DEFAULT clause. */
    now: driver.mappedDataTypes.createDateDefault,
    /** A list of strings: `text[]` on PostgreSQL, comma-joined text on SQLite. */
    stringList: (postgres
      ? { type: 'text', isArray: true }
      : { type: 'text' }) satisfies Pick<
      TableColumnOptions,
      'type' | 'isArray'
    >,
    /** A JSON document: `jsonb` on PostgreSQL, text on SQLite. */
    json: postgres ? 'jsonb' : 'text',
  };
}
