import { expect } from '@jest/globals';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import type { TestApp } from './test-app.js';

/** Every table the service writes, in a fixed order. */
const TABLES = [
  'users',
  'sessions',
  'refresh_tokens',
  'clients',
  'signing_keys',
] as const;

/**
 * Every row of every table: an attack that was refused must leave
 * this exactly as it was (no password, role or isActive changed, no new
 * session, refresh token, client or key, nothing deleted).
 */
export async function databaseSnapshot(
  testApp: TestApp,
): Promise<Record<string, unknown[]>> {
  const dataSource = testApp.app.get(DataSource);
  const tables: Record<string, unknown[]> = {};
  for (const table of TABLES) {
    // By primary key, which every engine has (SQLite's rowid is SQLite's own).
    const order = dataSource.entityMetadatas
      .find((entity) => entity.tableName === table)!
      .primaryColumns.map((column) => `"${column.databaseName}"`)
      .join(', ');
    tables[table] = await dataSource.query<unknown[]>(
      `SELECT * FROM "${table}" ORDER BY ${order}`,
    );
  }
  return tables;
}

/**
 * What no response may show: a stack frame, an SQL or driver message, a
 * path of the server's files.
 */
export const LEAK_PATTERNS: readonly RegExp[] = [
  /\bat [\w$.<>]+ \(/, // a stack frame: "at fn (file:line)"
  /\bat (file:|node:|\/)/,
  /SQLITE_\w+/,
  /QueryFailedError|TypeORMError|EntityNotFound/,
  /\bSELECT\b[\s\S]*\bFROM\b|\bINSERT INTO\b|\bUPDATE\b[\s\S]*\bSET\b/i,
  /syntax error|no such (column|table)/i,
  // PostgreSQL's messages.
  /duplicate key value|violates \w+ constraint|relation "[^"]*" does not exist/i,
  /\/(home|root|usr|tmp|work|opt|var)\/[\w.-]+\//,
  /node_modules|\.ts:\d+|\.js:\d+/,
  /TypeError|ReferenceError|RangeError|Cannot read propert/,
];

/** The response body shows none of the LEAK_PATTERNS. */
export function expectNoLeak(response: Response): void {
  const text = response.text ?? '';
  for (const pattern of LEAK_PATTERNS) {
    expect({ status: response.status, leak: pattern.exec(text)?.[0] }).toEqual({
      status: response.status,
      leak: undefined,
    });
  }
}

/** RFC 6749 §5.2: error_description is printable ASCII without `"` or `\\`. */
export const OAUTH_DESCRIPTION_CHARSET = /^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/;
