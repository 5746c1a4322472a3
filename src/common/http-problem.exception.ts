import { HttpException } from '@nestjs/common';

export interface FieldError {
  field: string;
  message: string;
}

/**
 * An HTTP error that carries what the global filter needs beyond a status
 * and a message: response headers (a `WWW-Authenticate` challenge) and the
 * invalid fields of a request.
 */
export class HttpProblemException extends HttpException {
  constructor(
    status: number,
    detail: string,
    readonly headers: Readonly<Record<string, string>> = {},
    readonly fieldErrors?: readonly FieldError[],
  ) {
    super(detail, status);
  }
}

export class ValidationProblemException extends HttpProblemException {
  constructor(fieldErrors: readonly FieldError[]) {
    super(
      400,
      `The request is invalid: ${[...new Set(fieldErrors.map((error) => error.field))].join(', ')}.`,
      {},
      fieldErrors,
    );
  }
}

/**
 * 429 (RFC 6585 §4) with `Retry-After` in whole seconds (RFC 9110 §10.2.3),
 * never less than one: a client that retries at once is only refused again.
 */
export class TooManyRequestsException extends HttpProblemException {
  constructor(what: string, retryAfterMs: number) {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    super(429, `${what} Retry after ${seconds} seconds.`, {
      'Retry-After': String(seconds),
    });
  }
}
