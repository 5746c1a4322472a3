import type { ChildProcess } from 'node:child_process';
import { execFile, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../utils/processes.js';

/**
 * The servers the fault suite stops and starts: a PostgreSQL and a Redis
 * of its own (never the ones CI or a developer runs for the other suites),
 * on free ports, in a temporary directory removed afterwards. Found and
 * run the way .ci/run does.
 */

const run = promisify(execFile);

/** `ls -d /usr/lib/postgresql/*\/bin | sort -V | tail -n 1`, or undefined. */
export function postgresBinaries(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((version) => existsSync(join(root, version, 'bin', 'initdb')))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const newest = versions.at(-1);
  return newest === undefined ? undefined : join(root, newest, 'bin');
}

export function redisServerFound(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0;
}

/** Why the servers cannot run here, or undefined when they can. */
export function missingServers(): string | undefined {
  if (postgresBinaries() === undefined) {
    return 'no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (Debian package postgresql)';
  }
  if (!redisServerFound())
    return 'no redis-server on PATH (Debian package redis-server)';
  return undefined;
}

/** initdb refuses to run as root: then the server runs as Debian's postgres user. */
const asPostgres = (command: string, args: string[]): [string, string[]] =>
  process.getuid?.() === 0
    ? ['runuser', ['-u', 'postgres', '--', command, ...args]]
    : [command, args];

export class PostgresServer {
  private constructor(
    private readonly bin: string,
    private readonly directory: string,
    readonly port: number,
  ) {}

  /** `postgres://` for the server's own `postgres` database, trusted on loopback. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private get data() {
    return join(this.directory, 'data');
  }

  /** initdb into a fresh temporary directory, then start. */
  static async create(): Promise<PostgresServer> {
    const bin = postgresBinaries();
    if (bin === undefined) throw new Error(missingServers());
    const directory = mkdtempSync(join(tmpdir(), 'auth-faults-pg-'));
    chmodSync(directory, 0o755);
    if (process.getuid?.() === 0) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      chownSync(directory, Number(stdout.trim()), -1);
    }
    const server = new PostgresServer(bin, directory, await freePort());
    // trust on loopback only: a throwaway server reachable from this machine alone.
    await run(
      ...asPostgres(join(bin, 'initdb'), [
        '-D',
        server.data,
        '-U',
        'postgres',
        '-A',
        'trust',
        '--no-sync',
      ]),
    );
    await server.start();
    return server;
  }

  async start(): Promise<void> {
    await run(
      ...asPostgres(join(this.bin, 'pg_ctl'), [
        '-D',
        this.data,
        '-l',
        join(this.directory, 'log'),
        '-w',
        '-o',
        `-p ${this.port} -k ${this.directory} -c listen_addresses=127.0.0.1 -c fsync=off`,
        'start',
      ]),
    );
  }

  /** `-m fast`: the server ends every session and stops, as an operator's restart does. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await run(
      ...asPostgres(join(this.bin, 'pg_ctl'), [
        '-D',
        this.data,
        '-m',
        mode,
        '-w',
        'stop',
      ]),
    );
  }

  /** Stops the server if it runs, and removes its directory. */
  async destroy(): Promise<void> {
    await this.stop('immediate').catch(() => undefined);
    rmSync(this.directory, { recursive: true, force: true });
  }
}

export class RedisServer {
  private child: ChildProcess | undefined;

  private constructor(
    private readonly directory: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async create(): Promise<RedisServer> {
    const directory = mkdtempSync(join(tmpdir(), 'auth-faults-redis-'));
    mkdirSync(directory, { recursive: true });
    const server = new RedisServer(directory, await freePort());
    await server.start();
    return server;
  }

  /** A child of this process (not daemonized), so that stopping it is a kill of its pid. */
  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.directory,
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (/Ready to accept connections/.test(output)) resolve();
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) =>
        reject(new Error(`redis-server exited with ${code}: ${output}`)),
      );
      child.once('error', reject);
    });
  }

  /** SIGTERM: with `--save ''` it exits at once, saving nothing. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (
      child === undefined ||
      child.exitCode !== null ||
      child.signalCode !== null
    ) {
      return;
    }
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.directory, { recursive: true, force: true });
  }
}
