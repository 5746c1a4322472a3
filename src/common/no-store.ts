import type { FastifyReply } from 'fastify';

/** RFC 6749 §5.1: responses with tokens or credentials are never cached. */
export function noStore(reply: FastifyReply): void {
  void reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache');
}
