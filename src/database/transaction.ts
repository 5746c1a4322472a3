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
  const run = () => dataSource.transaction(work);
  const current = previous.then(run, run);
  sqliteQueues.set(
    dataSource,
    current.catch(() => undefined),
  );
  return current;
}

/** Row locks where the engine has them; SQLite locks the whole file for a writer. */
export function shareLock(dataSource: DataSource): {
  lock?: { mode: 'pessimistic_read' };
} {
  return dataSource.options.type === 'better-sqlite3'
    ? {}
    : { lock: { mode: 'pessimistic_read' } };
}
