import type { DataSourceOptions } from 'typeorm';
import { migrations } from './migrations/index.js';
import type { Env } from '../config/env.js';

/** A PostgreSQL DATABASE_URL, as opposed to a SQLite one. */
export function isPostgresUrl(databaseUrl: string): boolean {
  return /^postgres(ql)?:\/\//.test(databaseUrl);
}

/**
 * The one DataSource definition, shared by the application and by the
 * migration CLI (ormconfig.ts), so both always open the same database the
 * same way. Open it with AppDataSource, which fits the entities to the engine.
 */
export function databaseOptions(
  env: Pick<Env, 'DATABASE_URL'> &
    Partial<
      Pick<
        Env,
        | 'DATABASE_POOL_SIZE'
        | 'DATABASE_CONNECT_TIMEOUT_MS'
        | 'DATABASE_STATEMENT_TIMEOUT_MS'
        | 'DATABASE_BUSY_TIMEOUT_MS'
      >
    >,
  entities: NonNullable<DataSourceOptions['entities']>,
): DataSourceOptions {
  const common = {
    entities,
    migrations,
    // Never in the app: the schema changes only through reviewed migrations.
    synchronize: false,
    migrationsRun: false,
    // Not 'error': a failed query is logged with its parameters, password hashes among them.
    logging: ['migration', 'warn'],
  } satisfies Partial<DataSourceOptions>;

  if (isPostgresUrl(env.DATABASE_URL)) {
    return {
      ...common,
      type: 'postgres',
      url: env.DATABASE_URL,
      poolSize: env.DATABASE_POOL_SIZE ?? 10,
      applicationName: 'auth-service',
      // gen_random_uuid() is built into PostgreSQL 13 and later: no extension
      // to install, so the service needs no superuser and no CREATE EXTENSION.
      uuidExtension: 'pgcrypto',
      installExtensions: false,
      // pg-pool's connectionTimeoutMillis: the bound on waiting for a free
      // connection as much as on opening one, so neither a busy pool nor a
      // server that does not answer hangs a request (or the start).
      connectTimeoutMS: env.DATABASE_CONNECT_TIMEOUT_MS ?? 2_000,
      // Sent when each connection opens, so it holds for every statement on
      // it, a wait for a lock included; 0 sends none (the server's default).
      extra: { statement_timeout: env.DATABASE_STATEMENT_TIMEOUT_MS ?? 0 },
    };
  }

  const database = env.DATABASE_URL.slice('sqlite:'.length);
  return {
    ...common,
    type: 'better-sqlite3',
    database,
    // Readers do not block the writer, and a writer waits for another
    // process's (this one queues its own) rather than failing at once, but
    // briefly: better-sqlite3 waits synchronously, holding up every request.
    enableWAL: database !== ':memory:',
    timeout: env.DATABASE_BUSY_TIMEOUT_MS ?? 1_000,
  };
}
