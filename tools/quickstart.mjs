// Runs the README's quick start, as written, against the production build
// started on a fresh SQLite file, so the first thing a newcomer pastes can
// never rot. Used by .ci/run after the build (`npm run test:quickstart`).
//
// The block is the first ```sh fence after the "## Quick start" heading. It
// runs in one `bash -euo pipefail`, so any failing command fails the test,
// with BASE_URL pointing at the service (the block defaults it to
// http://localhost:3000). Each `# → ` comment is output the README promises:
// one line, `…` standing for anything. The output must contain a line
// matching each of them, in the order they are written.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const HEADING = '## Quick start';
const EXPECTED = '# → ';

class QuickStartFailure extends Error {}

/**
 * @param {string} message
 * @returns {never}
 */
function fail(message) {
  throw new QuickStartFailure(message);
}

/**
 * The shell block under the heading, or a failure saying what is missing.
 * @param {string} readme
 */
function quickStartBlock(readme) {
  const lines = readme.split('\n');
  const heading = lines.findIndex((line) => line.trim() === HEADING);
  if (heading === -1) fail(`README.md has no "${HEADING}" heading`);
  const open = lines.findIndex(
    (line, index) => index > heading && line.startsWith('```'),
  );
  if (open === -1 || lines[open].trim() !== '```sh') {
    fail(`the first code block after "${HEADING}" must be a \`\`\`sh block`);
  }
  const close = lines.findIndex(
    (line, index) => index > open && line.startsWith('```'),
  );
  if (close === -1) fail('the quick-start block is never closed');
  return lines.slice(open + 1, close).join('\n');
}

/**
 * `# → {"username":"alice",…}` as a whole-line pattern: `…` is anything.
 * @param {string} block
 * @returns {{ shown: string, regex: RegExp }[]}
 */
function expectations(block) {
  return block
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith(EXPECTED))
    .map((line) => {
      const shown = line.slice(EXPECTED.length);
      const pattern = shown
        .split('…')
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*');
      return { shown, regex: new RegExp(`^${pattern}$`) };
    });
}

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (
        probe.address()
      );
      probe.close(() => resolve(port));
    });
  });
}

/**
 * @param {string} base
 * @param {import('node:child_process').ChildProcess} server
 */
async function waitUntilReady(base, server) {
  const started = Date.now();
  while (Date.now() - started < 20_000) {
    if (server.exitCode !== null) fail('the service exited while starting');
    try {
      if ((await fetch(`${base}/health/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  fail('the service did not become ready in 20 s');
}

/**
 * Runs the block against the service at `base`; its output must show what the README does.
 * @param {string} block
 * @param {{ shown: string, regex: RegExp }[]} expected
 * @param {string} base
 * @param {string} directory
 * @returns {Promise<{ output: string, problem?: string }>}
 */
async function runBlock(block, expected, base, directory) {
  // Asynchronously, so the service's log pipes keep draining meanwhile.
  const shell = spawn('bash', ['-euo', 'pipefail', '-c', block], {
    cwd: directory,
    env: { ...process.env, BASE_URL: base },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
  let stdout = '';
  let stderr = '';
  shell.stdout.on('data', (chunk) => (stdout += String(chunk)));
  shell.stderr.on('data', (chunk) => (stderr += String(chunk)));
  /** @type {[number | null, NodeJS.Signals | null]} */
  const [status, signal] = await new Promise((resolve) =>
    shell.once('close', (code, killedBy) => resolve([code, killedBy])),
  );
  const output = stdout + stderr;
  if (status !== 0) {
    return {
      output,
      problem: `the block failed (exit ${status ?? signal})`,
    };
  }
  const lines = stdout.split('\n');
  let next = 0;
  for (const { shown, regex } of expected) {
    const found = lines.findIndex(
      (line, index) => index >= next && regex.test(line),
    );
    if (found === -1) {
      return {
        output,
        problem: `no output line after line ${next} matches what the README shows:\n  ${shown}`,
      };
    }
    next = found + 1;
  }
  return { output };
}

async function main() {
  const block = quickStartBlock(readFileSync(join(root, 'README.md'), 'utf8'));
  const expected = expectations(block);
  if (expected.length === 0) {
    fail(`the quick-start block shows no output ("${EXPECTED}…" lines)`);
  }
  if (!existsSync(join(root, 'dist/main.js'))) {
    fail('dist/main.js is missing: run `npm run build` first');
  }

  const port = await freePort();
  const base = `http://localhost:${port}`;
  const directory = mkdtempSync(join(tmpdir(), 'auth-quickstart-'));
  let serviceLog = '';
  const server = spawn(process.execPath, ['dist/main.js'], {
    cwd: root,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(port),
      DATABASE_URL: `sqlite:${join(directory, 'auth.sqlite')}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout.on('data', (chunk) => (serviceLog += String(chunk)));
  server.stderr.on('data', (chunk) => (serviceLog += String(chunk)));

  /** @type {{ output: string, problem?: string }} */
  let result = { output: '' };
  try {
    await waitUntilReady(base, server);
    result = await runBlock(block, expected, base, directory);
  } catch (error) {
    if (error instanceof QuickStartFailure) {
      result.problem = error.message;
    } else throw error;
  } finally {
    if (server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
    }
    rmSync(directory, { recursive: true, force: true });
  }
  if (result.problem !== undefined) {
    console.error(`--- output of the quick start\n${result.output}`);
    console.error(`--- the service's log\n${serviceLog}`);
    fail(result.problem);
  }
  console.log(
    `quickstart: the README's quick start ran; ${expected.length} outputs as shown`,
  );
}

try {
  await main();
} catch (error) {
  if (!(error instanceof QuickStartFailure)) throw error;
  console.error(`quickstart: ${error.message}`);
  process.exitCode = 1;
}
