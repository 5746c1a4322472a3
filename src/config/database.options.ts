import type { DataSourceOptions } from 'typeorm';
import { AuditEvent } from '../audit/audit-event.entity.js';
import { SigningKey } from '../auth/keys/signing-key.entity.js';
import { Client } from '../clients/client.entity.js';
import { migrations } from '../database/migrations/index.js';
import { RefreshToken } from '../sessions/refresh-token.entity.js';
import { Session } from '../sessions/session.entity.js';
import { User } from '../users/user.entity.js';
import type { Env } from './env.js';

export const entities = [
  User,
  SigningKey,
  Session,
  RefreshToken,
  Client,
  AuditEvent,
];

/**
 * The one DataSource definition, shared by the application and by the
 * migration CLI (ormconfig.ts), so both always open the same database the
 * same way.
 */
export function databaseOptions(
  env: Pick<Env, 'DATABASE_URL'>,
): DataSourceOptions {
  const database = env.DATABASE_URL.slice('sqlite:'.length);
  return {
    type: 'better-sqlite3',
    database,
    entities,
    migrations,
    // Readers do not block the writer, and a writer waits for another rather than failing at once.
    enableWAL: database !== ':memory:',
    timeout: 5_000,
    // Never in the app: the schema changes only through reviewed migrations.
    synchronize: false,
    migrationsRun: false,
    // Not 'error': a failed query is logged with its parameters, password hashes among them.
    logging: ['migration', 'warn'],
  };
}
