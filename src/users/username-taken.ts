import { ConflictException } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';

export function usernameTaken(): ConflictException {
  return new ConflictException('This username is already taken.');
}

/** Two writes of one name at once: the unique index decides, and the loser hears this. */
export function isUniqueViolation(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const code = (error.driverError as { code?: string } | undefined)?.code;
  // SQLite (better-sqlite3) and PostgreSQL codes for a unique violation.
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505';
}
