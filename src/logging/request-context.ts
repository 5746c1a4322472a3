import { AsyncLocalStorage } from 'node:async_hooks';

interface RequestContext {
  reqId: string;
}

/**
 * The request being handled, wherever the app logs from while handling it.
 * Only the id is kept, and the app logger adds it to a line when it writes
 * one (pino's `mixin`): a per-request child logger, as nestjs-pino's
 * runInContext makes, cost a logger and a redaction pass on every request,
 * most of which log nothing.
 */
const requestContext = new AsyncLocalStorage<RequestContext>();

/** Runs `handle` as part of the request `reqId`. */
export function runInRequest(reqId: string, handle: () => void): void {
  requestContext.run({ reqId }, handle);
}

/** The fields every app log line written while handling a request carries. */
export function requestLogFields(): Partial<RequestContext> {
  const context = requestContext.getStore();
  return context === undefined ? {} : { reqId: context.reqId };
}
