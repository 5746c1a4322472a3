import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

/**
 * Production builds (`node dist/main.js`) as child processes, for the
 * suites that run the service as it is deployed: test/multi and
 * test/faults. Build first (`npm run build`).
 */
export interface Instance {
  name: string;
  base: string;
  port: number;
  process: ChildProcess;
  /** What it wrote to stdout and stderr, when started with `output: 'capture'`. */
  output: string[];
}

/** A port nobody listens on now, from the kernel: never a fixed one. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

export interface StartOptions {
  /**
   * `inherit`: its log lines go to the test's own stdout and stderr.
   * `capture`: they are kept in `output`, for a test to assert on and to
   * print when it fails.
   */
  output?: 'inherit' | 'capture';
}

/** Starts `node dist/main.js` on 127.0.0.1:`port` as in production, LOG_LEVEL warn. */
export function start(
  name: string,
  port: number,
  env: Record<string, string>,
  { output = 'inherit' }: StartOptions = {},
): Instance {
  const child = spawn(process.execPath, ['dist/main.js'], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
    },
    stdio: output === 'inherit' ? ['ignore', 'inherit', 'inherit'] : 'pipe',
  });
  const instance: Instance = {
    name,
    base: `http://127.0.0.1:${port}`,
    port,
    process: child,
    output: [],
  };
  const keep = (chunk: Buffer) => instance.output.push(chunk.toString());
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return instance;
}

/** Waits until GET /health/ready answers 200; fails if the process exits first. */
export async function waitUntilReady(
  instance: Instance,
  timeoutMs = 30_000,
): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (instance.process.exitCode !== null) {
      throw new Error(
        `${instance.name} exited with ${instance.process.exitCode}`,
      );
    }
    try {
      const response = await fetch(`${instance.base}/health/ready`, {
        signal: AbortSignal.timeout(2_000),
      });
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `${instance.name} did not become ready in ${timeoutMs / 1000} s`,
  );
}

/** True while the process has neither exited nor been killed by a signal. */
export const isRunning = (instance: Instance) =>
  instance.process.exitCode === null && instance.process.signalCode === null;

/** SIGTERM (the graceful shutdown), and waits for the exit. */
export async function stop(instance: Instance): Promise<void> {
  if (!isRunning(instance)) return;
  const exited = new Promise((resolve) =>
    instance.process.once('exit', resolve),
  );
  instance.process.kill('SIGTERM');
  await exited;
}
