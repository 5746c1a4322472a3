import type { DataSource, EntityManager } from 'typeorm';

const sqliteQueues = new WeakMap<DataSource, Promise<unknown>>();

/**
 * Runs `work` in a database transaction. TypeORM's better-sqlite3 driver has
 * one connection and one query runner: two transactions begun at once would
 * nest as savepoints, and the rollback of one could undo the other's writes.
 * On SQLite they therefore take turns (SQLite admits one writer at a time
 * anyway); the outcome of a race is still decided by the statements inside,
 * such as a conditional UPDATE. Other engines give each transaction its own
 * pooled connection.
 */
export function inTransaction<T>(
  dataSource: DataSource,
  work: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  if (dataSource.options.type !== 'better-sqlite3')
    return dataSource.transaction(work);
  const previous = sqliteQueues.get(dataSource) ?? Promise.resolve();
  const run = () =>
    dataSource.transaction(work).catch((error: unknown) => {
      endAbandonedSqliteTransaction(dataSource);
      throw error;
    });
  const current = previous.then(run, run);
  sqliteQueues.set(
    dataSource,
    current.catch(() => undefined),
  );
  return current;
}

/**
 * After a transaction failed, leaves the one connection with no
 * transaction open, as TypeORM sometimes does not. When SQLite rolls a
 * transaction back by itself (a COMMIT that fails with SQLITE_FULL or an
 * I/O error: https://www.sqlite.org/lang_transaction.html, "Response To
 * Errors Within A Transaction"), TypeORM's ROLLBACK fails in turn, and its
 * query runner keeps counting a transaction that SQLite no longer has. The
 * next transaction then begins as a SAVEPOINT, which its "commit" (RELEASE)
 * or rollback (ROLLBACK TO) leaves open: every later write is answered as
 * if it were stored and is lost with the process, seen by no other
 * connection. No other transaction can be running here: on SQLite they
 * take turns (inTransaction), and the failed one has settled.
 */
function endAbandonedSqliteTransaction(dataSource: DataSource): void {
  const driver = dataSource.driver as unknown as {
    databaseConnection: { inTransaction: boolean; exec(sql: string): void };
  };
  const runner = dataSource.createQueryRunner() as unknown as {
    isTransactionActive: boolean;
    transactionDepth: number;
  };
  if (driver.databaseConnection.inTransaction) {
    driver.databaseConnection.exec('ROLLBACK');
  }
  runner.isTransactionActive = false;
  runner.transactionDepth = 0;
}

/** Row locks where the engine has them; SQLite locks the whole file for a writer. */
export function shareLock(dataSource: DataSource): {
  lock?: { mode: 'pessimistic_read' };
} {
  return dataSource.options.type === 'better-sqlite3'
    ? {}
    : { lock: { mode: 'pessimistic_read' } };
}
