import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';
import type { HelmetOptions } from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const SECURITY_HEADER_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: {
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      // Swagger UI sets styles inline and draws icons from data: URIs.
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      objectSrc: ["'none'"],
      // TLS is the deployment's; upgrading would break plain-HTTP Swagger UI on a LAN host.
      upgradeInsecureRequests: null,
    },
  },
};

/**
 * The headers helmet sets for these options, in its order and spelling,
 * taken from helmet itself once. None of them depends on the request (no
 * CSP nonces here), while @fastify/helmet built helmet and parsed the CSP
 * anew for every request.
 */
export function securityHeadersOf(
  options: HelmetOptions,
): [name: string, value: string][] {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader: (name: string, value: string) => headers.set(name, value),
    removeHeader: (name: string) => headers.delete(name),
  };
  helmet(options)(
    {} as IncomingMessage,
    recorder as unknown as ServerResponse,
    // helmet 8 throws a bad option itself; the callback only continues.
    () => undefined,
  );
  return [...headers];
}

/** Every response carries helmet's headers, computed once at start. */
export function sendSecurityHeaders(
  fastify: FastifyInstance,
  options: HelmetOptions = SECURITY_HEADER_OPTIONS,
): void {
  const headers = securityHeadersOf(options);
  fastify.addHook('onRequest', (_request, reply, done) => {
    // On the raw response, as helmet sets them: the same bytes on the wire.
    for (const [name, value] of headers) reply.raw.setHeader(name, value);
    done();
  });
}
