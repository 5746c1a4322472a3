import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { ArgumentsHost } from '@nestjs/common';
import { ConflictException, Logger } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { InvalidClient, InvalidGrant } from '../oauth/protocol/oauth.errors.js';
import { HttpErrorFilter } from './http-error.filter.js';
import {
  HttpProblemException,
  ValidationProblemException,
} from '../common/http-problem.exception.js';

/** What the filter wrote to the reply. */
interface Recorded {
  status?: number;
  headers: Record<string, string>;
  type?: string;
  body?: unknown;
}

/**
 * Runs the filter on `exception` for a request to `url`, on a route whose
 * Fastify config asks for `errorFormat` (ApiOAuthErrorResponses sets
 * 'oauth'), and records the reply through the few FastifyReply methods it uses.
 */
function respond(
  exception: unknown,
  url: string,
  errorFormat?: 'oauth',
): Recorded {
  const recorded: Recorded = { headers: {} };
  const reply = {
    status(code: number) {
      recorded.status = code;
      return reply;
    },
    headers(values: Record<string, string>) {
      Object.assign(recorded.headers, values);
      return reply;
    },
    header(name: string, value: string) {
      recorded.headers[name] = value;
      return reply;
    },
    type(contentType: string) {
      recorded.type = contentType;
      return reply;
    },
    send(body: unknown) {
      recorded.body = body;
      return reply;
    },
  };
  const request = {
    method: 'POST',
    url,
    routeOptions: { config: { errorFormat } },
  };
  const host = {
    switchToHttp: () => ({
      getRequest: () => request,
      getResponse: () => reply,
    }),
  } as unknown as ArgumentsHost;

  new HttpErrorFilter().catch(exception, host);
  return recorded;
}

/** Fastify's error for a body of a content type it has no parser for. */
const unsupportedMediaType = {
  code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
  statusCode: 415,
  message: 'Unsupported Media Type: text/plain',
};

describe('HttpErrorFilter', () => {
  const logError = jest
    .spyOn(Logger.prototype, 'error')
    .mockImplementation(() => undefined);
  beforeEach(() => {
    logError.mockClear();
  });

  describe('RFC 9457 problem details, for every endpoint but OAuth', () => {
    it('answers an unexpected error with a bare 500 that reveals nothing of it, and logs it', () => {
      const error = new Error('SQLITE_ERROR: no such table users');

      const reply = respond(error, '/users');

      expect(reply.status).toBe(500);
      expect(reply.type).toBe('application/problem+json');
      expect(reply.body).toEqual({
        type: 'about:blank',
        title: 'Internal Server Error',
        status: 500,
        detail: 'The server could not complete the request.',
        instance: '/users',
      });
      expect(JSON.stringify(reply.body)).not.toMatch(/sqlite|no such table/i);
      expect(logError).toHaveBeenCalledWith(
        expect.stringContaining('POST /users'),
        error.stack,
      );
    });

    it('answers a Nest HTTP exception with its status, title and detail', () => {
      const reply = respond(
        new ConflictException('The username is taken.'),
        '/users',
      );

      expect(reply.status).toBe(409);
      expect(reply.type).toBe('application/problem+json');
      expect(reply.body).toEqual({
        type: 'about:blank',
        title: 'Conflict',
        status: 409,
        detail: 'The username is taken.',
        instance: '/users',
      });
    });

    it('lists the invalid fields of a validation failure in `errors`', () => {
      const errors = [
        { field: 'username', message: 'username must be 3–64 characters' },
        {
          field: 'password',
          message: 'password must be at least 15 characters',
        },
      ];

      const reply = respond(new ValidationProblemException(errors), '/users');

      expect(reply.status).toBe(400);
      expect(reply.body).toMatchObject({
        title: 'Bad Request',
        status: 400,
        instance: '/users',
        errors,
      });
    });

    it('sends the headers a problem carries, such as a Bearer challenge', () => {
      const challenge = 'Bearer realm="https://auth.example.com"';

      const reply = respond(
        new HttpProblemException(401, 'A bearer token is required.', {
          'WWW-Authenticate': challenge,
        }),
        '/users/me',
      );

      expect(reply.status).toBe(401);
      expect(reply.headers['WWW-Authenticate']).toBe(challenge);
    });

    it("answers Fastify's own body errors with their status", () => {
      const reply = respond(unsupportedMediaType, '/users');

      expect(reply.status).toBe(415);
      expect(reply.type).toBe('application/problem+json');
      expect(reply.body).toMatchObject({
        title: 'Unsupported Media Type',
        status: 415,
        instance: '/users',
      });
    });

    it('answers the database being unavailable with 503 and Retry-After, revealing nothing of it', () => {
      const reply = respond(
        new QueryFailedError(
          'INSERT INTO "users" ("username") VALUES (?)',
          ['alice'],
          Object.assign(new Error('attempt to write a readonly database'), {
            code: 'SQLITE_READONLY',
          }),
        ),
        '/users',
      );

      expect(reply.status).toBe(503);
      expect(reply.headers['Retry-After']).toMatch(/^[1-9][0-9]*$/);
      expect(reply.type).toBe('application/problem+json');
      expect(reply.body).toEqual({
        type: 'about:blank',
        title: 'Service Unavailable',
        status: 503,
        detail: expect.stringMatching(
          /^The database is temporarily unavailable/,
        ),
        instance: '/users',
      });
      expect(JSON.stringify(reply.body)).not.toMatch(/readonly|INSERT|alice/);
      // The request line says it, once: no second error line.
      expect(logError).not.toHaveBeenCalled();
    });

    it('leaves the query string out of `instance`', () => {
      const reply = respond(
        new ConflictException('The username is taken.'),
        '/users?username=alice&token=secret',
      );

      expect(reply.body).toMatchObject({ instance: '/users' });
    });
  });

  describe('RFC 6749 §5.2 error bodies, for the OAuth endpoints', () => {
    it('answers invalid_grant with 400, its description, and no caching (§5.1)', () => {
      const reply = respond(
        new InvalidGrant('The username or password is wrong.'),
        '/auth/token',
        'oauth',
      );

      expect(reply.status).toBe(400);
      expect(reply.type).toBe('application/json');
      expect(reply.body).toEqual({
        error: 'invalid_grant',
        error_description: 'The username or password is wrong.',
      });
      expect(reply.headers).toMatchObject({
        'Cache-Control': 'no-store',
        Pragma: 'no-cache',
      });
    });

    it('answers invalid_client with 401 and its Basic challenge', () => {
      const reply = respond(
        new InvalidClient('Unknown client.', 'https://auth.example.com'),
        '/auth/token',
        'oauth',
      );

      expect(reply.status).toBe(401);
      expect(reply.body).toMatchObject({ error: 'invalid_client' });
      expect(reply.headers['WWW-Authenticate']).toMatch(/^Basic /);
    });

    it("answers Fastify's own body errors with their status and invalid_request", () => {
      const reply = respond(unsupportedMediaType, '/auth/token', 'oauth');

      expect(reply.status).toBe(415);
      expect(reply.type).toBe('application/json');
      expect(reply.body).toEqual({
        error: 'invalid_request',
        error_description: expect.any(String),
      });
    });

    it('recognises the endpoint with a query string', () => {
      const reply = respond(
        new InvalidGrant('The refresh token is expired.'),
        '/auth/token?trace=1',
        'oauth',
      );

      expect(reply.body).toMatchObject({ error: 'invalid_grant' });
    });

    it('answers the database being unavailable with temporarily_unavailable, 503 and Retry-After', () => {
      const reply = respond(
        new Error('timeout exceeded when trying to connect'),
        '/auth/token',
        'oauth',
      );

      expect(reply.status).toBe(503);
      expect(reply.headers['Retry-After']).toMatch(/^[1-9][0-9]*$/);
      expect(reply.body).toEqual({
        error: 'temporarily_unavailable',
        error_description: expect.stringMatching(
          /^The database is temporarily unavailable/,
        ),
      });
    });

    it('answers an unexpected error with server_error, revealing nothing of it', () => {
      const reply = respond(
        new Error('SQLITE_BUSY: database is locked'),
        '/auth/token',
        'oauth',
      );

      expect(reply.status).toBe(500);
      expect(reply.body).toEqual({
        error: 'server_error',
        error_description: 'The server could not complete the request.',
      });
    });
  });
});
