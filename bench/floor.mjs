// The floor: the least work that can answer GET /users/me with the same
// token algorithm as the service (RS256), on bare node:http. What the
// service costs above this is the framework, the database and the checks.
// Prints one JSON line {port, token} once it listens.
import { createServer } from 'node:http';
import { generateKeyPairSync, randomUUID, sign, verify } from 'node:crypto';

const ISSUER = 'http://floor.invalid';
const { privateKey, publicKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
});
const base64url = (value) =>
  Buffer.from(JSON.stringify(value)).toString('base64url');

const user = {
  id: randomUUID(),
  username: 'floor-user',
  isActive: true,
  roles: ['user'],
  createdAt: new Date().toISOString(),
  updatedAt: new Date().toISOString(),
};
const users = new Map([[user.id, user]]);

const now = Math.floor(Date.now() / 1000);
const signingInput = `${base64url({ alg: 'RS256', typ: 'at+jwt' })}.${base64url(
  {
    iss: ISSUER,
    aud: ISSUER,
    sub: user.id,
    iat: now,
    exp: now + 3600,
  },
)}`;
const token = `${signingInput}.${sign('sha256', Buffer.from(signingInput), privateKey).toString('base64url')}`;

function authenticate(authorization) {
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
  return users.get(claims.sub);
}

const server = createServer((request, response) => {
  const found =
    request.method === 'GET' && request.url === '/users/me'
      ? authenticate(request.headers.authorization)
      : undefined;
  response.writeHead(found ? 200 : 401, { 'content-type': 'application/json' });
  response.end(found ? JSON.stringify(found) : '{"error":"invalid_token"}');
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(JSON.stringify({ port: server.address().port, token }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
