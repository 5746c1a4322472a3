import type { ArgumentsHost, ExceptionFilter } from '@nestjs/common';
import { Catch, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { OAuthError } from '../oauth/protocol/oauth.errors.js';
import type { FieldError } from '../common/http-problem.exception.js';
import { HttpProblemException } from '../common/http-problem.exception.js';
import { databaseUnavailableCause } from '../database/unavailable.js';
import { errorPage, sendPage } from '../browser/pages.js';
import { recordDependencyFailure } from '../logging/dependency-failure.js';

export interface ErrorResponse {
  status: number;
  detail: string;
  headers: Readonly<Record<string, string>>;
  fieldErrors?: HttpProblemException['fieldErrors'];
  oauthError?: OAuthError['error'];
}

/**
 * The one place errors become responses. Nothing from an unexpected error
 * (message, stack, SQL) reaches the client: it is logged and answered as a
 * bare 500, or as a 503 when it says the database is unavailable.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(HttpErrorFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    sendError(request, reply, this.describe(exception, request));
  }

  private describe(exception: unknown, request: FastifyRequest): ErrorResponse {
    if (exception instanceof OAuthError) {
      return {
        status: exception.getStatus(),
        detail: exception.description,
        headers: exception.headers,
        oauthError: exception.error,
      };
    }
    if (exception instanceof HttpProblemException) {
      return {
        status: exception.getStatus(),
        detail: exception.message,
        headers: exception.headers,
        fieldErrors: exception.fieldErrors,
      };
    }
    if (exception instanceof HttpException) {
      return {
        status: exception.getStatus(),
        detail: detailOf(exception),
        headers: {},
      };
    }
    const fastifyStatus = clientErrorStatusOf(exception);
    if (fastifyStatus !== undefined) {
      return {
        status: fastifyStatus,
        detail: fastifyDetail(exception as FastifyClientError),
        headers: {},
      };
    }
    const databaseCause = databaseUnavailableCause(exception);
    if (databaseCause !== undefined) {
      // The request line says it, at error level: one line per failed request.
      recordDependencyFailure(request, {
        dependency: 'database',
        cause: databaseCause,
      });
      return databaseUnavailable();
    }
    this.logger.error(
      `Unhandled error on ${request.method} ${request.url.split('?', 1)[0]}`,
      exception instanceof Error ? exception.stack : String(exception),
    );
    return {
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      detail: 'The server could not complete the request.',
      headers: {},
    };
  }
}

/**
 * How long a client is asked to wait while the database is unavailable: a
 * busy pool or a held lock clears within it, and a client that retries
 * after it sees a restarting server back within a few tries.
 */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;

/**
 * 503 (RFC 9110 §15.6.4) with `Retry-After`: the database failing is the
 * service being unavailable for a moment, not a fault in the request, and
 * not a 500. On the OAuth endpoints `temporarily_unavailable`, the code
 * RFC 6749 registers for it (§4.1.2.1). Nothing of the driver's error is
 * sent.
 */
function databaseUnavailable(): ErrorResponse {
  const seconds = UNAVAILABLE_RETRY_AFTER_SECONDS;
  return {
    status: HttpStatus.SERVICE_UNAVAILABLE,
    detail: `The database is temporarily unavailable. Retry after ${seconds} seconds.`,
    headers: { 'Retry-After': String(seconds) },
    oauthError: 'temporarily_unavailable',
  };
}

/**
 * Writes an error as the endpoint's RFC expects: RFC 6749 §5.2 on the
 * routes marked so (ApiOAuthErrorResponses), RFC 9457 problem details
 * everywhere else, unknown routes included. The route's Fastify config
 * says which, so that errors Fastify raises before any handler (413, 415,
 * malformed input) are written as the route's own.
 */
export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  error: ErrorResponse,
): void {
  const path = request.url.split('?', 1)[0];
  void reply.status(error.status).headers(error.headers);
  if (request.routeOptions?.config?.errorFormat === 'html') {
    const title = STATUS_CODES[error.status] ?? 'Error';
    sendPage(reply, errorPage(title, error.detail), {
      title,
      status: error.status,
      headers: error.headers,
    });
    return;
  }
  if (request.routeOptions?.config?.errorFormat === 'oauth') {
    // RFC 6749 §5.1 asks no-store of token responses; an error is one too.
    void reply
      .header('Cache-Control', 'no-store')
      .header('Pragma', 'no-cache')
      .type('application/json')
      .send({
        error: error.oauthError ?? oauthCodeFor(error.status),
        error_description: error.detail,
      });
    return;
  }
  void reply.type('application/problem+json').send({
    type: 'about:blank',
    title: STATUS_CODES[error.status] ?? 'Error',
    status: error.status,
    detail: error.detail,
    instance: path,
    ...(error.status === 400 ? { errors: fieldErrorsOf(error) } : {}),
  });
}

/**
 * The URL errors Fastify meets before routing, which no Nest filter sees
 * (its own answer is a JSON body that is neither RFC and echoes the URL).
 */
export function sendFrameworkError(
  error: { code?: string; statusCode?: number },
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
  const detail = tooLong
    ? 'A path parameter is too long.'
    : 'The URL is not valid: its percent-encoding is malformed.';
  sendError(request, reply, {
    status: tooLong ? 414 : 400,
    detail,
    headers: {},
    fieldErrors: [{ field: 'path', message: detail }],
  });
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (headers
 * over the size limit, a malformed request line), answered as problem
 * details on the raw socket: no route, so no `instance`.
 */
export function sendClientError(
  error: Error & { code?: string },
  socket: Duplex,
): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, detail] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'The request headers are too large.']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'The request took too long to arrive.']
        : [400, 'The request is not valid HTTP.'];
  const title = STATUS_CODES[status] ?? 'Error';
  const body = JSON.stringify({ type: 'about:blank', title, status, detail });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/** Fastify's own request errors (body parsing, content type, size). */
interface FastifyClientError {
  statusCode: number;
  code?: string;
  message: string;
}

function clientErrorStatusOf(exception: unknown): number | undefined {
  if (typeof exception !== 'object' || exception === null) return undefined;
  const { statusCode, code } = exception as Partial<FastifyClientError>;
  if (typeof code !== 'string' || !code.startsWith('FST_')) return undefined;
  return typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500
    ? statusCode
    : undefined;
}

const FASTIFY_DETAILS: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'This content type is not accepted here.',
  FST_ERR_CTP_BODY_TOO_LARGE: 'The request body is too large.',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'The JSON body is empty.',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH:
    'The Content-Length does not match the body.',
  FST_ERR_CTP_EMPTY_TYPE: 'The Content-Type header is empty.',
  FST_ERR_CTP_INVALID_TYPE: 'The Content-Type header is invalid.',
};

function fastifyDetail(error: FastifyClientError): string {
  if (error.code !== undefined && FASTIFY_DETAILS[error.code])
    return FASTIFY_DETAILS[error.code];
  // JSON.parse messages name a position in the body, nothing of the server.
  if (error.statusCode === 400 && error.message.includes('JSON')) {
    return `The body is not valid JSON: ${error.message}`;
  }
  return STATUS_CODES[error.statusCode] ?? 'The request is invalid.';
}

/**
 * The OpenAPI document promises `errors` on every 400. Validation brings
 * its own; the 400s without them are the framework refusing a body it could
 * not parse (not JSON, `__proto__` keys), so the body is what is invalid.
 */
function fieldErrorsOf(error: ErrorResponse): readonly FieldError[] {
  return error.fieldErrors ?? [{ field: 'body', message: error.detail }];
}

function detailOf(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  if (typeof message === 'string') return message;
  return exception.message;
}

function oauthCodeFor(status: number): OAuthError['error'] {
  if (status === 401) return 'invalid_client';
  if (status === 429) return 'temporarily_unavailable';
  if (status >= 500) return 'server_error';
  return 'invalid_request';
}
