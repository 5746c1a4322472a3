import { describe, expect, it } from '@jest/globals';
import {
  QueryFailedError,
  QueryRunnerAlreadyReleasedError,
  QueryRunnerProviderAlreadyReleasedError,
} from 'typeorm';
import { databaseUnavailableCause } from './unavailable.js';

/** An error as a driver raises it: a message and, mostly, a code. */
function driverError(message: string, code?: string): Error {
  return Object.assign(new Error(message), code === undefined ? {} : { code });
}

/** As TypeORM rethrows a failed statement. */
function failedQuery(error: Error): QueryFailedError {
  return new QueryFailedError('INSERT INTO "users" …', [], error);
}

describe('databaseUnavailableCause', () => {
  it.each([
    ['SQLITE_BUSY', 'database is locked'],
    ['SQLITE_BUSY_SNAPSHOT', 'database is locked'],
    ['SQLITE_LOCKED', 'database table is locked'],
    ['SQLITE_READONLY', 'attempt to write a readonly database'],
    ['SQLITE_READONLY_DBMOVED', 'attempt to write a readonly database'],
    ['SQLITE_FULL', 'database or disk is full'],
    ['SQLITE_IOERR_WRITE', 'disk I/O error'],
    ['SQLITE_CANTOPEN', 'unable to open database file'],
    ['57014', 'canceling statement due to statement timeout'],
    ['57P01', 'terminating connection due to administrator command'],
    ['57P03', 'the database system is starting up'],
    ['53300', 'sorry, too many clients already'],
    ['08006', 'connection failure'],
  ])('names a failed statement with %s by its code', (code, message) => {
    expect(
      databaseUnavailableCause(failedQuery(driverError(message, code))),
    ).toBe(code);
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'])(
    'names a socket that failed with %s',
    (code) => {
      expect(
        databaseUnavailableCause(driverError(`connect ${code}`, code)),
      ).toBe(code);
    },
  );

  it.each([
    ['timeout exceeded when trying to connect', 'pool_timeout'],
    ['Connection terminated due to connection timeout', 'connect_timeout'],
    ['Connection terminated unexpectedly', 'connection_terminated'],
  ])(
    'names the node-postgres error "%s", which has no code',
    (message, cause) => {
      expect(databaseUnavailableCause(driverError(message))).toBe(cause);
      expect(databaseUnavailableCause(failedQuery(driverError(message)))).toBe(
        cause,
      );
    },
  );

  it.each([
    new QueryRunnerAlreadyReleasedError(),
    new QueryRunnerProviderAlreadyReleasedError(),
  ])(
    'names a statement sent on a connection TypeORM released when it failed (%s)',
    (error) => {
      expect(databaseUnavailableCause(error)).toBe('connection_terminated');
    },
  );

  it.each([
    ['SQLITE_CONSTRAINT_UNIQUE', 'UNIQUE constraint failed: users.username'],
    ['SQLITE_ERROR', 'no such table: users'],
    ['23505', 'duplicate key value violates unique constraint'],
    ['42601', 'syntax error at or near "SELEC"'],
    ['22P02', 'invalid input syntax for type uuid'],
  ])(
    'leaves %s to the code: the statement is wrong, not the database away',
    (code, message) => {
      expect(
        databaseUnavailableCause(failedQuery(driverError(message, code))),
      ).toBeUndefined();
    },
  );

  it('leaves errors that are not the database’s alone', () => {
    expect(databaseUnavailableCause(new Error('boom'))).toBeUndefined();
    expect(
      databaseUnavailableCause('timeout exceeded when trying to connect'),
    ).toBeUndefined();
    expect(databaseUnavailableCause(undefined)).toBeUndefined();
  });
});
