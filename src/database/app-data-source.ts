import type { Migration } from 'typeorm';
import { DataSource, MigrationExecutor } from 'typeorm';

/**
 * Held while migrations run, so that instances starting together on one
 * PostgreSQL database migrate one after the other: the first builds the
 * schema, the others find every migration applied. Any fixed 64-bit number
 * no other program on the database uses for `pg_advisory_lock`.
 */
const MIGRATION_LOCK_KEY = 1_764_316_800;

/**
 * The DataSource of the app and of the migration CLI. The entities are
 * written once for both engines; on PostgreSQL this gives them the types
 * that engine has and SQLite lacks, the same ones the migrations create:
 *
 * - an instant (`type: Date`, `@CreateDateColumn`) is `timestamp with time
 *   zone`, not TypeORM's default `timestamp without time zone`, which would
 *   read a stored instant back in the server's local time zone;
 * - a `simple-array` (roles, a client's scopes and grant types) is a
 *   `text[]`, not comma-joined text;
 * - a `simple-json` (audit details) is `jsonb`.
 *
 * SQLite keeps `datetime` and text for all of these, as its migrations made them.
 */
export class AppDataSource extends DataSource {
  constructor(...args: ConstructorParameters<typeof DataSource>) {
    super(...args);
    if (this.options.type !== 'postgres') return;
    const driver = this.driver;
    const normalizeType = driver.normalizeType.bind(driver);
    // Read when a migration is generated: the schema the entities describe.
    driver.normalizeType = (column) =>
      column.type === Date ? 'timestamp with time zone' : normalizeType(column);
    // Read while the entity metadata is built, for @CreateDateColumn and @UpdateDateColumn.
    driver.mappedDataTypes.createDate = 'timestamp with time zone';
    driver.mappedDataTypes.updateDate = 'timestamp with time zone';
  }

  protected override async buildMetadatas(): Promise<void> {
    await super.buildMetadatas();
    if (this.options.type !== 'postgres') return;
    for (const column of this.entityMetadatas.flatMap((meta) => meta.columns)) {
      if (column.type === 'simple-array') {
        // node-postgres writes a JS array as an array literal and reads text[] back as one.
        column.type = 'text';
        column.isArray = true;
      } else if (column.type === 'simple-json') {
        column.type = 'jsonb';
      }
    }
  }

  override async runMigrations(
    options?: Parameters<DataSource['runMigrations']>[0],
  ): Promise<Migration[]> {
    if (this.options.type !== 'postgres') return super.runMigrations(options);
    const lockHolder = this.createQueryRunner();
    try {
      // A request's statement timeout is no bound for waiting on another
      // instance's migrations, nor for a migration rewriting a large table.
      await lockHolder.query('SET statement_timeout = 0');
      await lockHolder.query('SELECT pg_advisory_lock($1)', [
        MIGRATION_LOCK_KEY,
      ]);
      // As DataSource.runMigrations does, on the session without the timeout.
      const executor = new MigrationExecutor(this, lockHolder);
      executor.transaction =
        options?.transaction ?? this.options.migrationsTransactionMode ?? 'all';
      executor.fake = options?.fake ?? false;
      return await executor.executePendingMigrations();
    } finally {
      // Closing the session would release the lock too; unlock first so the pool can reuse it.
      await lockHolder
        .query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY])
        .catch(() => undefined);
      // Back to the timeout the connection opened with, for the requests that use it next.
      await lockHolder.query('RESET statement_timeout').catch(() => undefined);
      await lockHolder.release();
    }
  }
}
