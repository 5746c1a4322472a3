// Starts the production build on a fresh SQLite file and walks the
// contract's main flow through real HTTP: what `npm ci && npm start` gives a
// newcomer. Used by .ci/run; exits non-zero on the first surprise.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const port = 3917;
const base = `http://127.0.0.1:${port}`;
const directory = mkdtempSync(join(tmpdir(), 'auth-smoke-'));
const server = spawn(process.execPath, ['dist/main.js'], {
  env: {
    ...process.env,
    PORT: String(port),
    DATABASE_URL: `sqlite:${join(directory, 'auth.sqlite')}`,
    BCRYPT_COST: '10',
    NODE_ENV: 'production',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});

function check(condition, message) {
  if (!condition) throw new Error(`smoke: ${message}`);
}

async function waitUntilReady() {
  const started = Date.now();
  while (Date.now() - started < 15_000) {
    try {
      if ((await fetch(`${base}/health/ready`)).ok) return Date.now() - started;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('smoke: the service did not become ready in 15 s');
}

try {
  const readyMs = await waitUntilReady();
  const password = 'correct horse battery staple';
  const registered = await fetch(`${base}/users`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'smoke-user', password }),
  });
  check(registered.status === 201, `POST /users answered ${registered.status}`);

  const token = await fetch(`${base}/auth/token`, {
    method: 'POST',
    headers: { Authorization: 'Basic Og==' },
    body: new URLSearchParams({
      grant_type: 'password',
      username: 'smoke-user',
      password,
    }),
  });
  check(token.status === 200, `POST /auth/token answered ${token.status}`);
  const { access_token: accessToken } = await token.json();

  const me = await fetch(`${base}/users/me`, {
    headers: { Authorization: `Bearer ${accessToken}` },
  });
  check(me.status === 200, `GET /users/me answered ${me.status}`);
  check(
    (await me.json()).username === 'smoke-user',
    'GET /users/me named another user',
  );

  const docs = await fetch(`${base}/docs-json`);
  check(docs.ok, `GET /docs-json answered ${docs.status}`);
  check((await fetch(`${base}/docs`)).ok, 'GET /docs did not answer 200');
  console.log(
    `smoke: ready in ${readyMs} ms; register, password grant, /users/me and /docs answered`,
  );
} finally {
  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
  rmSync(directory, { recursive: true, force: true });
}
