/**
 * How a route's errors are written: RFC 6749 §5.2 bodies (`oauth`), an
 * HTML page for the pages a person sees (`html`), or RFC 9457 problem
 * details when unset. Fastify route config, not Nest metadata: errors
 * raised before the handler (413, 415, malformed bodies, rate limits)
 * reach the error filter with the request's route but no handler.
 */
export type ErrorFormat = 'oauth' | 'html';

declare module 'fastify' {
  interface FastifyContextConfig {
    errorFormat?: ErrorFormat;
  }
}
