import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * What a caller's id may look like: UUIDs, trace ids and the like. The
 * header is attacker-controlled and lands in every log line and in a
 * response header, so anything longer, or with characters that could forge
 * a log line or a header (CR, LF, quotes, spaces, non-ASCII), is not used.
 */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The request's id: the caller's `X-Request-Id` when it is safe, so one id
 * follows a request across services; otherwise (absent or refused) a new
 * UUID. Refused values are replaced, not rejected: a request should not fail
 * over a correlation id.
 */
export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given)
    ? given
    : randomUUID();
}
