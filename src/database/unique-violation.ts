import { QueryFailedError } from 'typeorm';

/**
 * A write refused by a unique index or a primary key: two writes of one
 * key at once, where the index decides and the loser hears this.
 */
export function isUniqueViolation(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const code = (error.driverError as { code?: string } | undefined)?.code;
  // SQLite (better-sqlite3) and PostgreSQL codes.
  return (
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    code === '23505'
  );
}
