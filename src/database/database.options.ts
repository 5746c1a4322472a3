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
  env: Pick<Env, 'DATABASE_URL'> & Partial<Pick<Env, 'DATABASE_POOL_SIZE'>>,
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
      // A server that does not answer fails the start (or the readiness probe), not hangs it.
      connectTimeoutMS: 5_000,
    };
  }

  const database = env.DATABASE_URL.slice('sqlite:'.length);
  return {
    ...common,
    type: 'better-sqlite3',
    database,
    // Readers do not block the writer, and a writer waits for another rather than failing at once.
    enableWAL: database !== ':memory:',
    timeout: 5_000,
  };
}
