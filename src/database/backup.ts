import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { migrations } from './migrations/index.js';

/** A backup or restore refused for a reason the operator can act on. */
export class BackupError extends Error {}

/** What a backup file holds, as checked before it is trusted. */
export interface BackupContents {
  file: string;
  bytes: number;
  /** Rows per table, the migrations table included. */
  rows: Record<string, number>;
  /** The newest migration the backup's schema has reached. */
  newestMigration: string;
  /** Generated keys carry their private half; a key from JWT_PRIVATE_KEY does not. */
  signingKeys: { total: number; withPrivateKey: number };
}

/** The tables without which a file is not this service's database. */
const REQUIRED_TABLES = ['migrations', 'users', 'signing_keys'];

// Backups hold password hashes and private signing keys: owner only.
const BACKUP_FILE_MODE = 0o600;
const BACKUP_DIRECTORY_MODE = 0o700;

/** `auth-2026-12-01T14-30-05Z.sqlite`: sorts by time, and no `:` for other file systems. */
export function timestampedBackupName(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replaceAll(':', '-');
  return `auth-${stamp}.sqlite`;
}

/**
 * Copies a live SQLite database with SQLite's online backup API, safe while
 * the service writes to it. The copy is one consistent snapshot: after a
 * first probe, every page goes in a single step, under one read transaction
 * (which, in WAL mode, does not hold up the service's writers). Copied in
 * small steps instead, a backup restarts whenever the service writes, and
 * under steady load might never end.
 *
 * The copy is written beside its destination and renamed into place only
 * once it passed SQLite's integrity check, so a file with the backup's name
 * is always a whole backup.
 */
export async function backupSqliteDatabase(
  sourceFile: string,
  destinationFile: string,
  { busyTimeoutMs = 5_000 } = {},
): Promise<BackupContents> {
  if (!existsSync(sourceFile)) {
    throw new BackupError(`There is no database at ${sourceFile}.`);
  }
  const partialFile = createPartialBackup(destinationFile);
  try {
    const source = openDatabase(sourceFile, { timeout: busyTimeoutMs });
    try {
      await source.backup(partialFile, {
        progress: ({ totalPages }) => totalPages,
      });
    } finally {
      source.close();
    }
    makeSelfContained(partialFile);
    const contents = inspectSqliteBackup(partialFile);
    renameSync(partialFile, destinationFile);
    return { ...contents, file: destinationFile };
  } catch (error) {
    rmSync(partialFile, { force: true });
    throw error;
  }
}

/**
 * Checks that a file is a whole backup of this service that this version
 * can run on, and says what it holds. Opened read-only: inspecting a
 * backup never changes it.
 */
export function inspectSqliteBackup(file: string): BackupContents {
  if (!existsSync(file)) {
    throw new BackupError(`There is no backup at ${file}.`);
  }
  const database = openDatabase(file, { readonly: true });
  try {
    const integrity = readIntegrity(database, file);
    if (integrity !== 'ok') {
      throw new BackupError(
        `${file} is damaged (SQLite's integrity check: ${integrity}).`,
      );
    }
    const tables = database
      .prepare<[], { name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .all()
      .map(({ name }) => name);
    const missing = REQUIRED_TABLES.filter((table) => !tables.includes(table));
    if (missing.length > 0) {
      throw new BackupError(
        `${file} is not a database of this service (no ${missing.join(', ')} table).`,
      );
    }
    const rows = Object.fromEntries(
      tables.map((table) => [
        table,
        database
          .prepare<[], { count: number }>(
            `SELECT COUNT(*) AS count FROM "${table}"`,
          )
          .get()!.count,
      ]),
    );
    const applied = database
      .prepare<[], { name: string }>(
        'SELECT name FROM migrations ORDER BY timestamp',
      )
      .all()
      .map(({ name }) => name);
    const known = new Set(migrations.map((Migration) => new Migration().name));
    const unknown = applied.filter((name) => !known.has(name));
    if (unknown.length > 0) {
      throw new BackupError(
        `${file} was made by a newer version of the service (its migration ${unknown.join(', ')} is unknown to this one): restore it with that version or a later one.`,
      );
    }
    const signingKeys = database
      .prepare<[], { total: number; withPrivateKey: number }>(
        'SELECT COUNT(*) AS total, COUNT("privateKey") AS withPrivateKey FROM signing_keys',
      )
      .get()!;
    return {
      file,
      bytes: statSync(file).size,
      rows,
      newestMigration: applied.at(-1) ?? 'none',
      signingKeys,
    };
  } finally {
    database.close();
  }
}

/**
 * Puts a backup in place of the database at `targetFile`, for an instance
 * to start on: users, sessions and refresh tokens, clients, signing keys
 * (private halves included), the audit log. An older backup is brought up
 * to date by the migrations the next start applies.
 *
 * The service must be stopped: a running instance would keep serving from
 * what it had cached. A target that exists is replaced only when asked,
 * and its content is first backed up beside it, so a restore can be undone.
 */
export async function restoreSqliteDatabase(
  backupFile: string,
  targetFile: string,
  { replace = false, now = new Date() } = {},
): Promise<{ restored: BackupContents; previous?: string }> {
  // Before anything is touched: a damaged or foreign file changes nothing.
  inspectSqliteBackup(backupFile);
  if (!existsSync(targetFile)) {
    // A copy of the backup, renamed into place once whole: a restore cut
    // short leaves no half-written database for the next start to open.
    mkdirSync(dirname(targetFile), { recursive: true });
    const restored = await backupSqliteDatabase(backupFile, targetFile);
    return { restored };
  }
  if (!replace) {
    throw new BackupError(
      `${targetFile} already exists: pass --replace to replace it (its content is backed up beside it first).`,
    );
  }
  ensureNotOpenElsewhere(targetFile);
  const previous = join(
    dirname(targetFile),
    `before-restore-${timestampedBackupName(now)}`,
  );
  await backupSqliteDatabase(targetFile, previous);
  // Through the backup API rather than a file copy: SQLite writes the pages
  // through the target's own journal, in one step and so one transaction, so
  // neither a WAL file left beside the target nor a restore cut short can
  // leave a mix of the old content and the new.
  const backup = openDatabase(backupFile, { readonly: true });
  try {
    await backup.backup(targetFile, {
      progress: ({ totalPages }) => totalPages,
    });
  } finally {
    backup.close();
  }
  return {
    restored: { ...inspectSqliteBackup(targetFile), file: targetFile },
    previous,
  };
}

/**
 * The empty file a backup is written into, beside its destination, to be
 * renamed once whole. Created owner-only before a byte goes in: the copy is
 * never readable by others, not even for a moment.
 */
function createPartialBackup(destinationFile: string): string {
  if (existsSync(destinationFile)) {
    throw new BackupError(
      `${destinationFile} already exists; a backup never overwrites one.`,
    );
  }
  mkdirSync(dirname(destinationFile), {
    recursive: true,
    mode: BACKUP_DIRECTORY_MODE,
  });
  const partialFile = `${destinationFile}.partial`;
  closeSync(openSync(partialFile, 'wx', BACKUP_FILE_MODE));
  return partialFile;
}

function openDatabase(
  file: string,
  options: { readonly?: boolean; timeout?: number },
): Database.Database {
  try {
    return new Database(file, { fileMustExist: true, ...options });
  } catch (error) {
    throw new BackupError(`Cannot open ${file}: ${messageOf(error)}.`);
  }
}

function readIntegrity(database: Database.Database, file: string): string {
  try {
    return database.pragma('integrity_check', { simple: true }) as string;
  } catch (error) {
    // SQLITE_NOTADB and the like: the file is not a database at all.
    throw new BackupError(
      `${file} is not a SQLite database (${messageOf(error)}).`,
    );
  }
}

/**
 * The copy keeps its source's WAL mode, which would make every reader of the
 * backup create -wal and -shm files beside it; a backup is one file.
 */
function makeSelfContained(file: string): void {
  const database = openDatabase(file, {});
  try {
    database.pragma('journal_mode = DELETE');
  } finally {
    database.close();
  }
}

/**
 * A connection in WAL mode holds a shared lock on the file for as long as it
 * is open, even idle: an exclusive lock is refused while any instance of the
 * service has the database open.
 */
function ensureNotOpenElsewhere(file: string): void {
  const database = openDatabase(file, { timeout: 0 });
  try {
    database.pragma('locking_mode = EXCLUSIVE');
    database.exec('BEGIN EXCLUSIVE');
    database.exec('COMMIT');
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_BUSY') {
      throw new BackupError(
        `${file} is open in another process: stop every instance of the service that uses it, then restore.`,
      );
    }
    throw error;
  } finally {
    database.close();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * pg_dump is PostgreSQL's documented backup, consistent under load: this
 * only runs it, in its custom format (for pg_restore). The password goes
 * through PGPASSWORD, not the command line, where every user of the machine
 * could read it in the process list.
 */
export async function backupPostgresDatabase(
  databaseUrl: string,
  destinationFile: string,
): Promise<{ file: string; bytes: number }> {
  const url = new URL(databaseUrl);
  const password = decodeURIComponent(url.password);
  url.password = '';
  const partialFile = createPartialBackup(destinationFile);
  try {
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(
        'pg_dump',
        [
          '--format=custom',
          '--no-password',
          `--file=${partialFile}`,
          `--dbname=${url.href}`,
        ],
        {
          stdio: ['ignore', 'ignore', 'inherit'],
          env: {
            ...process.env,
            ...(password ? { PGPASSWORD: password } : {}),
          },
        },
      );
      child.on('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'ENOENT'
            ? new BackupError(
                "pg_dump was not found: install PostgreSQL's client tools (Debian: postgresql-client) of the server's major version or newer.",
              )
            : error,
        ),
      );
      child.on('exit', resolve);
    });
    if (exitCode !== 0) {
      throw new BackupError(
        `pg_dump failed (exit code ${exitCode}): its message is above.`,
      );
    }
    renameSync(partialFile, destinationFile);
    return { file: destinationFile, bytes: statSync(destinationFile).size };
  } catch (error) {
    rmSync(partialFile, { force: true });
    throw error;
  }
}
