import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { dependencyFailureOf } from './dependency-failure.js';
import { loggableUrl } from './redaction.js';
import { runInRequest } from './request-context.js';

/**
 * One line per request, written by Fastify once the response is sent: its
 * id, method, URL (query values hidden, see loggableUrl), route pattern,
 * status and time. Every field is built here from values that cannot carry
 * a secret, so the line skips the app logger's redaction and serializers,
 * and no Express-style middleware runs.
 *
 * What the app logs while handling a request carries the request's id
 * (runInRequest: the context lives until the response).
 *
 * @param requestLines a logger without redaction, writing where the app's does.
 */
export function logRequests(
  fastify: FastifyInstance,
  requestLines: Logger,
): void {
  fastify.addHook('onRequest', (request, _reply, done) => {
    runInRequest(request.id, done);
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    writeRequestLine(requestLines, request, reply);
    done();
  });
}

function writeRequestLine(
  log: Logger,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const url = loggableUrl(request.url);
  const { statusCode } = reply;
  const line = {
    reqId: request.id,
    req: { method: request.method, url },
    res: { statusCode },
    // The pattern (`/users/:id`) groups requests; absent when no route matched.
    route: request.routeOptions.url,
    responseTime: Math.round(reply.elapsedTime),
    // Which dependency failed the request (a 503), and the driver's code for how.
    ...dependencyFields(request),
  };
  const message = `${request.method} ${url} ${statusCode}`;
  if (statusCode >= 500) log.error(line, message);
  else log.info(line, message);
}

function dependencyFields(request: FastifyRequest): {
  dependency?: string;
  dependencyError?: string;
} {
  const failure = dependencyFailureOf(request);
  return failure === undefined
    ? {}
    : { dependency: failure.dependency, dependencyError: failure.cause };
}
