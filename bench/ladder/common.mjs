// What every rung of the ladder shares: one RSA key, LADDER_USERS users
// (default 1) in a Map and in a SQLite file, one RS256 token per user, and
// the same answer shape as the service's GET /users/me. The bench reads the
// tokens from LADDER_TOKENS_FILE, so every rung is driven with the same
// spread of distinct users.
import Database from 'better-sqlite3';
import { generateKeyPairSync, randomUUID, sign, verify } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ISSUER = 'http://ladder.invalid';
export const { privateKey, publicKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
});

const base64url = (value) =>
  Buffer.from(JSON.stringify(value)).toString('base64url');
const now = new Date().toISOString();
const count = Number(process.env.LADDER_USERS ?? 1);

export const users = new Map();
for (let index = 0; index < count; index += 1) {
  const id = randomUUID();
  users.set(id, {
    id,
    username: `ladder-${index}`,
    isActive: true,
    roles: ['user'],
    createdAt: now,
    updatedAt: now,
  });
}

function tokenFor(userId) {
  const issuedAt = Math.floor(Date.now() / 1000);
  const input = `${base64url({ alg: 'RS256', typ: 'at+jwt' })}.${base64url({
    iss: ISSUER,
    aud: ISSUER,
    sub: userId,
    iat: issuedAt,
    exp: issuedAt + 3600,
  })}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

/** The floor's check, by hand with node:crypto: the claims, or undefined. */
export function verifiedClaims(authorization) {
  if (!authorization?.startsWith('Bearer ')) return undefined;
  const [header, payload, signature] = authorization.slice(7).split('.');
  if (signature === undefined) return undefined;
  const valid = verify(
    'sha256',
    Buffer.from(`${header}.${payload}`),
    publicKey,
    Buffer.from(signature, 'base64url'),
  );
  if (!valid) return undefined;
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  if (claims.iss !== ISSUER || claims.aud !== ISSUER) return undefined;
  if (claims.exp * 1000 <= Date.now()) return undefined;
  return claims;
}

/**
 * The users in a SQLite file, read by primary key through one prepared
 * statement: the least a database lookup per request can cost.
 */
export function sqliteLookup() {
  const file = join(mkdtempSync(join(tmpdir(), 'ladder-')), 'users.sqlite');
  const database = new Database(file);
  database.pragma('journal_mode = WAL');
  database.exec(
    `CREATE TABLE users (id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE,
       isActive INTEGER NOT NULL, roles TEXT NOT NULL,
       createdAt TEXT NOT NULL, updatedAt TEXT NOT NULL)`,
  );
  const insert = database.prepare(
    'INSERT INTO users VALUES (@id, @username, 1, @roles, @createdAt, @updatedAt)',
  );
  database.transaction(() => {
    for (const user of users.values())
      insert.run({ ...user, roles: user.roles.join(',') });
  })();
  const select = database.prepare(
    'SELECT id, username, isActive, roles, createdAt, updatedAt FROM users WHERE id = ?',
  );
  return (id) => {
    const row = select.get(id);
    if (row === undefined || row.isActive !== 1) return undefined;
    return { ...row, isActive: true, roles: row.roles.split(',') };
  };
}

/** Writes the tokens for the bench, then prints {port} as one JSON line. */
export function announce(port) {
  if (process.env.LADDER_TOKENS_FILE)
    writeFileSync(
      process.env.LADDER_TOKENS_FILE,
      JSON.stringify([...users.keys()].map(tokenFor)),
    );
  console.log(JSON.stringify({ port }));
}

export const listenPort = () => Number(process.env.PORT ?? 0);
