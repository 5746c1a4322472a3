import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import {
  existsSync,
  mkdtempSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import pg from 'pg';
import {
  backupPostgresDatabase,
  backupSqliteDatabase,
  BackupError,
  inspectSqliteBackup,
  restoreSqliteDatabase,
} from '../src/database/backup.js';
import { GOOD_PASSWORD, registerUser, tokenClient } from './utils/flows.js';
import type { TestApp } from './utils/test-app.js';
import {
  createTestApp,
  createTestDatabase,
  TEST_DATABASE_URL,
} from './utils/test-app.js';

const onSqlite = TEST_DATABASE_URL === undefined ? describe : describe.skip;
const onPostgres = TEST_DATABASE_URL === undefined ? describe.skip : describe;

const usernamesInFile = (file: string): Set<string> => {
  const database = new Database(file, { readonly: true });
  try {
    return new Set(
      database
        .prepare<[], { username: string }>('SELECT username FROM users')
        .all()
        .map(({ username }) => username),
    );
  } finally {
    database.close();
  }
};

async function usernamesInPostgres(databaseUrl: string): Promise<Set<string>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ username: string }>(
      'SELECT username FROM users',
    );
    return new Set(rows.map(({ username }) => username));
  } finally {
    await client.end();
  }
}

/** The restore docs/operations.md gives for PostgreSQL, as written there. */
function pgRestore(databaseUrl: string, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'pg_restore',
      ['--clean', '--if-exists', '--no-owner', '--dbname', databaseUrl, file],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`pg_restore exited with ${code}`)),
    );
  });
}

interface Engine {
  /** A fresh database for the live instance, and how to drop it. */
  live: () => Promise<{ databaseUrl: string; drop: () => Promise<void> }>;
  backup: (databaseUrl: string, file: string) => Promise<unknown>;
  /** Restores the backup into a fresh database; returns its URL and its drop. */
  restore: (
    file: string,
  ) => Promise<{ databaseUrl: string; drop: () => Promise<void> }>;
  usernames: (databaseUrl: string) => Promise<Set<string>>;
}

/**
 * Issue 16's check: back up while registrations keep coming, restore into a
 * fresh instance, and find every write acknowledged before the backup began,
 * and the tokens issued before it still good.
 */
function backupUnderLoad(engine: () => Engine, backupFile: () => string) {
  let testApp: TestApp;
  const tokens = tokenClient(() => testApp);
  const databases: { drop: () => Promise<void> }[] = [];
  let restoredUrl: string;
  let before: { access_token: string; refresh_token: string };
  const acknowledgedBeforeBackup = new Set<string>();
  const statuses: number[] = [];
  let acknowledgedDuringBackup = 0;

  beforeAll(async () => {
    const live = await engine().live();
    databases.push(live);
    testApp = await createTestApp({ DATABASE_URL: live.databaseUrl });
    await registerUser(testApp, 'alice');
    before = await tokens.login('alice');

    const acknowledged: string[] = [];
    let writing = true;
    let backupRunning = false;
    const writer = async (worker: number) => {
      for (let n = 0; writing; n += 1) {
        const username = `writer-${worker}-${n}`;
        const response = await testApp
          .http()
          .post('/users')
          .send({ username, password: GOOD_PASSWORD });
        statuses.push(response.status);
        if (response.status === 201) {
          acknowledged.push(username);
          if (backupRunning) acknowledgedDuringBackup += 1;
        }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    const untilAcknowledged = async (count: number) => {
      const deadline = Date.now() + 10_000;
      while (acknowledged.length < count) {
        if (Date.now() > deadline) {
          throw new Error(
            `only ${acknowledged.length} of ${count} registrations acknowledged`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    try {
      await untilAcknowledged(40);
      for (const username of acknowledged) {
        acknowledgedBeforeBackup.add(username);
      }
      backupRunning = true;
      await engine().backup(live.databaseUrl, backupFile());
      backupRunning = false;
      await untilAcknowledged(acknowledged.length + 20);
    } finally {
      writing = false;
      await Promise.all(writers);
    }
    await testApp.close();

    const restored = await engine().restore(backupFile());
    databases.push(restored);
    restoredUrl = restored.databaseUrl;
    testApp = await createTestApp({ DATABASE_URL: restoredUrl });
  });
  afterAll(async () => {
    await testApp.close();
    for (const database of databases) await database.drop();
  });

  it('holds every registration acknowledged before the backup began, while the service went on writing', async () => {
    expect(statuses.filter((status) => status !== 201)).toEqual([]);
    const restored = await engine().usernames(restoredUrl);
    const missing = [...acknowledgedBeforeBackup].filter(
      (username) => !restored.has(username),
    );
    expect(missing).toEqual([]);
    expect(restored.has('alice')).toBe(true);
    // For the record: the writes did not wait for the backup.
    console.log(
      `backup under load: ${acknowledgedBeforeBackup.size} registrations before it began, all restored; ${acknowledgedDuringBackup} acknowledged while it ran`,
    );
  });

  it('serves, on the restored instance, an access token and a refresh token issued before the backup: its signing keys and sessions came back', async () => {
    const me = await tokens.me(before.access_token);
    expect({ status: me.status, username: me.body.username }).toEqual({
      status: 200,
      username: 'alice',
    });
    const refreshed = await tokens.refresh(before.refresh_token);
    expect(refreshed.status).toBe(200);
    await tokens.login([...acknowledgedBeforeBackup][0]);
  });
}

onPostgres('npm run db:backup (pg_dump) and pg_restore', () => {
  let directory: string;
  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), 'auth-backup-'));
  });
  afterAll(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  describe('a backup taken while registrations keep coming, restored into a fresh database', () => {
    backupUnderLoad(
      () => ({
        live: createTestDatabase,
        backup: backupPostgresDatabase,
        restore: async (file) => {
          const fresh = await createTestDatabase();
          await pgRestore(fresh.databaseUrl, file);
          return fresh;
        },
        usernames: usernamesInPostgres,
      }),
      () => join(directory, 'auth.dump'),
    );
  });
});

onSqlite('npm run db:backup and db:restore (SQLite)', () => {
  let directory: string;
  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), 'auth-backup-'));
  });
  afterAll(() => {
    rmSync(directory, { recursive: true, force: true });
  });
  const backupFile = () => join(directory, 'backups', 'auth.sqlite');

  describe('a backup taken while registrations keep coming, restored into a fresh instance', () => {
    const fileOf = (databaseUrl: string) => databaseUrl.slice('sqlite:'.length);
    backupUnderLoad(
      () => ({
        live: () =>
          Promise.resolve({
            databaseUrl: `sqlite:${join(directory, 'live', 'auth.sqlite')}`,
            drop: () => Promise.resolve(),
          }),
        backup: (databaseUrl, file) =>
          backupSqliteDatabase(fileOf(databaseUrl), file),
        restore: async (file) => {
          const target = join(directory, 'restored', 'auth.sqlite');
          await restoreSqliteDatabase(file, target);
          return {
            databaseUrl: `sqlite:${target}`,
            drop: () => Promise.resolve(),
          };
        },
        usernames: (databaseUrl) =>
          Promise.resolve(usernamesInFile(fileOf(databaseUrl))),
      }),
      backupFile,
    );

    it('writes the backup as one file, readable by its owner alone', () => {
      expect(statSync(backupFile()).mode & 0o777).toBe(0o600);
      expect(existsSync(`${backupFile()}-wal`)).toBe(false);
      const database = new Database(backupFile(), { readonly: true });
      expect(database.pragma('journal_mode', { simple: true })).toBe('delete');
      database.close();
      expect(existsSync(`${backupFile()}.partial`)).toBe(false);
    });
  });

  describe('refusals that leave everything as it was', () => {
    let databaseFile: string;
    let backupFile: string;
    beforeAll(async () => {
      databaseFile = join(directory, 'refusals', 'auth.sqlite');
      const testApp = await createTestApp({
        DATABASE_URL: `sqlite:${databaseFile}`,
      });
      await registerUser(testApp, 'kept');
      await testApp.close();
      backupFile = join(directory, 'refusals', 'backup.sqlite');
      await backupSqliteDatabase(databaseFile, backupFile);
    });

    it('a backup never overwrites an existing file', async () => {
      await expect(
        backupSqliteDatabase(databaseFile, backupFile),
      ).rejects.toThrow(
        new BackupError(
          `${backupFile} already exists; a backup never overwrites one.`,
        ),
      );
    });

    it('a file that is not a SQLite database is refused before anything is touched', async () => {
      const notADatabase = join(directory, 'refusals', 'notes.txt');
      writeFileSync(
        notADatabase,
        'not a database, just some words\n'.repeat(200),
      );
      await expect(
        restoreSqliteDatabase(notADatabase, databaseFile, { replace: true }),
      ).rejects.toThrow(/is not a SQLite database/);
      expect(usernamesInFile(databaseFile).has('kept')).toBe(true);
    });

    it('a SQLite database of something else is refused', async () => {
      const foreign = join(directory, 'refusals', 'foreign.sqlite');
      const database = new Database(foreign);
      database.exec('CREATE TABLE notes (body TEXT)');
      database.close();
      await expect(
        restoreSqliteDatabase(foreign, databaseFile, { replace: true }),
      ).rejects.toThrow(
        /is not a database of this service \(no migrations, users, signing_keys table\)/,
      );
    });

    it('a backup made by a newer version (a migration this one does not know) is refused', async () => {
      const newer = join(directory, 'refusals', 'newer.sqlite');
      await backupSqliteDatabase(databaseFile, newer);
      const database = new Database(newer);
      database
        .prepare('INSERT INTO migrations (timestamp, name) VALUES (?, ?)')
        .run(9_999_999_999_999, 'FromTheFuture9999999999999');
      database.close();
      await expect(
        restoreSqliteDatabase(newer, databaseFile, { replace: true }),
      ).rejects.toThrow(/made by a newer version.*FromTheFuture9999999999999/);
    });

    it('an existing database is replaced only when asked', async () => {
      await expect(
        restoreSqliteDatabase(backupFile, databaseFile),
      ).rejects.toThrow(/already exists: pass --replace/);
    });

    it('a database that an instance has open is not replaced', async () => {
      const running = new Database(databaseFile);
      running.pragma('journal_mode = WAL');
      try {
        await expect(
          restoreSqliteDatabase(backupFile, databaseFile, { replace: true }),
        ).rejects.toThrow(/is open in another process: stop every instance/);
      } finally {
        running.close();
      }
    });

    it('a replaced database is kept beside it first, whole', async () => {
      const writable = new Database(databaseFile);
      writable
        .prepare(
          "UPDATE users SET username = 'renamed' WHERE username = 'kept'",
        )
        .run();
      writable.close();
      const { previous } = await restoreSqliteDatabase(
        backupFile,
        databaseFile,
        {
          replace: true,
        },
      );
      expect(usernamesInFile(databaseFile).has('kept')).toBe(true);
      expect(previous).toBeDefined();
      expect(usernamesInFile(previous!).has('renamed')).toBe(true);
      expect(inspectSqliteBackup(previous!).rows.users).toBe(1);
    });
  });
});
