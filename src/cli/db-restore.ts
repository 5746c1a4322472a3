import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { validateEnv } from '../config/env.js';
import { BackupError, restoreSqliteDatabase } from '../database/backup.js';
import { isPostgresUrl } from '../database/database.options.js';
import { parseCommandLine, UsageError } from './command-line.js';

const USAGE = 'Usage: npm run db:restore -- <backup file> [--replace]';

/**
 * `npm run db:restore -- <backup file>`: puts a backup made by
 * `npm run db:backup` in place of the SQLite database DATABASE_URL names,
 * for the service to start on. The service must be stopped.
 */
async function restoreDatabase(): Promise<void> {
  const { values, positionals } = parseCommandLine(
    () =>
      parseArgs({
        options: { replace: { type: 'boolean', default: false } },
        allowPositionals: true,
      }),
    USAGE,
  );
  if (positionals.length !== 1) throw new UsageError(USAGE);
  const [backupFile] = positionals;
  if (existsSync('.env')) process.loadEnvFile('.env');
  const { DATABASE_URL: databaseUrl } = validateEnv(process.env);
  if (isPostgresUrl(databaseUrl)) {
    throw new BackupError(
      `DATABASE_URL is a PostgreSQL database: restore with PostgreSQL's own tool, with every instance stopped: pg_restore --clean --if-exists --no-owner --dbname "$DATABASE_URL" ${backupFile}`,
    );
  }
  const targetFile = databaseUrl.slice('sqlite:'.length);
  if (targetFile === ':memory:') {
    throw new BackupError(
      'DATABASE_URL is sqlite::memory:, which no process but the service can reach: set it to the file the service should start on.',
    );
  }
  const { restored, previous } = await restoreSqliteDatabase(
    backupFile,
    targetFile,
    { replace: values.replace },
  );
  if (previous !== undefined) {
    console.log(`The database it replaces is kept in ${previous}.`);
  }
  console.log(
    `Restored ${backupFile} to ${restored.file}: ${restored.rows.users} users, ${restored.signingKeys.total} signing keys; schema at ${restored.newestMigration}.`,
  );
  console.log(
    'Start the service: it applies any newer migration, then serves what the backup held.',
  );
}

restoreDatabase().catch((error: unknown) => {
  // The operator's to fix: the message says what; a stack would bury it.
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = error instanceof UsageError ? 2 : 1;
});
