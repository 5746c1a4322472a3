import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { validateEnv } from '../config/env.js';
import {
  backupPostgresDatabase,
  backupSqliteDatabase,
  BackupError,
  timestampedBackupName,
} from '../database/backup.js';
import type { BackupContents } from '../database/backup.js';
import { isPostgresUrl } from '../database/database.options.js';
import { parseCommandLine, UsageError } from './command-line.js';

const USAGE = 'Usage: npm run db:backup [-- --dir <directory>]';

/**
 * `npm run db:backup`: a timestamped backup of the database the service
 * uses (DATABASE_URL, from the environment or .env, as the service reads
 * it), taken while the service runs. SQLite: SQLite's online backup API.
 * PostgreSQL: pg_dump, PostgreSQL's own tool, in its custom format.
 */
async function backupDatabase(): Promise<void> {
  const { values } = parseCommandLine(
    () =>
      parseArgs({ options: { dir: { type: 'string', default: 'backups' } } }),
    USAGE,
  );
  if (existsSync('.env')) process.loadEnvFile('.env');
  const { DATABASE_URL: databaseUrl } = validateEnv(process.env);
  const directory = values.dir;
  const name = timestampedBackupName();

  if (isPostgresUrl(databaseUrl)) {
    const file = join(directory, name.replace(/\.sqlite$/, '.dump'));
    await backupPostgresDatabase(databaseUrl, file);
    console.log(`Backed up the PostgreSQL database to ${file}.`);
    console.log(
      `Restore it with: pg_restore --clean --if-exists --no-owner --dbname "$DATABASE_URL" ${file}`,
    );
    return;
  }

  const databaseFile = databaseUrl.slice('sqlite:'.length);
  if (databaseFile === ':memory:') {
    throw new BackupError(
      'DATABASE_URL is sqlite::memory:, a database that lives only in its process: there is nothing to back up.',
    );
  }
  const contents = await backupSqliteDatabase(
    databaseFile,
    join(directory, name),
  );
  console.log(
    `Backed up ${databaseFile} to ${contents.file} (integrity checked).`,
  );
  console.log(describe(contents));
}

function describe({
  bytes,
  rows,
  signingKeys,
  newestMigration,
}: BackupContents) {
  const counts = Object.entries(rows)
    .filter(([table]) => table !== 'migrations')
    .map(([table, count]) => `${table} ${count}`)
    .join(', ');
  return [
    `  ${(bytes / 1024).toFixed(0)} KiB: ${counts}`,
    `  signing keys: ${signingKeys.total}, ${signingKeys.withPrivateKey} with their private half (a key from JWT_PRIVATE_KEY stays outside the database)`,
    `  schema: ${newestMigration}`,
  ].join('\n');
}

backupDatabase().catch((error: unknown) => {
  // The operator's to fix: the message says what; a stack would bury it.
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = error instanceof UsageError ? 2 : 1;
});
