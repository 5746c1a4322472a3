// Rung 1: bare Fastify doing the floor's work (RS256 verify with
// node:crypto, a Map lookup, a JSON answer): what the HTTP framework costs.
import Fastify from 'fastify';
import { announce, listenPort, users, verifiedClaims } from './common.mjs';

const app = Fastify();
app.get('/users/me', async (request, reply) => {
  const claims = verifiedClaims(request.headers.authorization);
  const user = claims && users.get(claims.sub);
  if (!user) return reply.code(401).send({ error: 'invalid_token' });
  return user;
});
await app.listen({ port: listenPort(), host: '127.0.0.1' });
announce(app.server.address().port);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
