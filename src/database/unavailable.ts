import {
  QueryRunnerAlreadyReleasedError,
  QueryRunnerProviderAlreadyReleasedError,
} from 'typeorm';

/**
 * PostgreSQL SQLSTATEs that say the server cannot do the work now, not that
 * the statement is wrong: class 08 (the connection failed), class 53 (out
 * of disk, memory or connections), 57P01-57P03 (shutting down, cannot
 * connect yet) and 57014 (cancelled, which is how statement_timeout ends a
 * statement). https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
const POSTGRES_UNAVAILABLE = /^(08...|53...|57P0[123]|57014)$/;

/**
 * SQLite result codes (with their extended forms, `SQLITE_BUSY_SNAPSHOT`)
 * of a file that is locked by another connection, read-only, full,
 * failing to read or write, or gone. https://www.sqlite.org/rescode.html
 */
const SQLITE_UNAVAILABLE =
  /^SQLITE_(BUSY|LOCKED|READONLY|IOERR|CANTOPEN)(_[A-Z_]+)?$|^SQLITE_FULL$/;

/** The socket to the database server failed (node's system error codes). */
const NETWORK_UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * node-postgres and pg-pool raise these without a code; the message is
 * all there is. Each is named here by a code of ours for the logs.
 */
const POSTGRES_CLIENT_MESSAGES: [pattern: RegExp, cause: string][] = [
  // pg-pool: no connection became free within connectionTimeoutMillis.
  [/^timeout exceeded when trying to connect$/, 'pool_timeout'],
  [/^Connection terminated due to connection timeout$/, 'connect_timeout'],
  [/^Connection terminated/, 'connection_terminated'],
  [/is not queryable$/, 'connection_terminated'],
];

/**
 * Why the database could not do its part of a request now, when `error`
 * says it is unavailable rather than that the request or the code is
 * wrong: the driver's code (`SQLITE_BUSY`, `57014`, `ECONNREFUSED`), or one
 * of ours for node-postgres errors that carry none (`pool_timeout`).
 * Undefined for any other error.
 *
 * Errors arrive as TypeORM wraps them (a QueryFailedError whose
 * `driverError` is the driver's) or straight from the driver, as when the
 * pool cannot hand out a connection.
 */
export function databaseUnavailableCause(error: unknown): string | undefined {
  // The driver's error, and what it was caused by, a few levels at most.
  let current: unknown = error;
  for (let depth = 0; depth < 4 && isObject(current); depth++) {
    const cause = causeOf(current);
    if (cause !== undefined) return cause;
    current = current.driverError ?? current.cause;
  }
  return undefined;
}

function causeOf(error: Record<string, unknown>): string | undefined {
  // TypeORM releases a PostgreSQL query runner when its connection fails
  // (the client's `error` event): the transaction's next statement then
  // throws one of these (from a query builder, or from its EntityManager)
  // instead of reaching the server.
  if (
    error instanceof QueryRunnerAlreadyReleasedError ||
    error instanceof QueryRunnerProviderAlreadyReleasedError
  ) {
    return 'connection_terminated';
  }
  const { code, message } = error;
  if (typeof code === 'string') {
    if (
      POSTGRES_UNAVAILABLE.test(code) ||
      SQLITE_UNAVAILABLE.test(code) ||
      NETWORK_UNAVAILABLE.has(code)
    ) {
      return code;
    }
  }
  if (typeof message === 'string' && code === undefined) {
    return POSTGRES_CLIENT_MESSAGES.find(([pattern]) =>
      pattern.test(message),
    )?.[1];
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
