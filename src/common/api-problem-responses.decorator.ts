import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { STATUS_CODES } from 'node:http';
import {
  ProblemDetailsDto,
  ValidationProblemDetailsDto,
} from './problem-details.dto.js';

const DESCRIPTIONS: Partial<Record<number, string>> = {
  400: 'The request is invalid; `errors` names each invalid field.',
  401: 'No valid access token. `WWW-Authenticate: Bearer` says why (RFC 6750 §3); for a request with `Authorization: DPoP`, `WWW-Authenticate: DPoP` (RFC 9449 §7.1), with `error="invalid_dpop_proof"` when the DPoP proof is at fault.',
  403: 'The access token lacks a required scope (`WWW-Authenticate: Bearer error="insufficient_scope"`).',
  404: 'No such resource.',
  409: 'The resource already exists.',
  413: 'The request body is too large.',
  415: 'The content type is not accepted.',
  429: 'Too many requests from this address; `Retry-After` gives the seconds to wait.',
  503: 'The service is temporarily unavailable: the database does not answer, or a health check failed. Retry later; `Retry-After`, when sent, gives the seconds to wait.',
};

/** A typical body per status, so Swagger UI does not show a 409 as the example of a 401. */
const EXAMPLES: Partial<Record<number, { detail: string; instance: string }>> =
  {
    400: {
      detail: 'password must be at least 15 characters; this one is 9',
      instance: '/users',
    },
    401: { detail: 'The access token has expired.', instance: '/users/me' },
    403: {
      detail: 'This requires an access token with the scope "users:read".',
      instance: '/users',
    },
    404: { detail: 'No user has this id.', instance: '/users/7f0c1f7e' },
    409: { detail: 'This username is already taken.', instance: '/users' },
    413: { detail: 'The request body is too large.', instance: '/users' },
    415: {
      detail: 'This content type is not accepted here.',
      instance: '/users',
    },
    429: {
      detail:
        'Too many registrations from this address. Retry after 60 seconds.',
      instance: '/users',
    },
    503: { detail: 'The database does not answer.', instance: '/health/ready' },
  };

function exampleFor(status: number): object | undefined {
  const example = EXAMPLES[status];
  if (example === undefined) return undefined;
  const body = {
    type: 'about:blank',
    title: STATUS_CODES[status],
    status,
    ...example,
  };
  return status === 400
    ? { ...body, errors: [{ field: 'password', message: example.detail }] }
    : body;
}

/** Documents the RFC 9457 problem responses an operation can answer. */
export const ApiProblemResponses = (...statuses: number[]) =>
  applyDecorators(
    // The responses name the schemas by $ref; this puts them in components.schemas.
    ApiExtraModels(ProblemDetailsDto, ValidationProblemDetailsDto),
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? STATUS_CODES[status],
        content: {
          'application/problem+json': {
            schema: {
              $ref: getSchemaPath(
                status === 400
                  ? ValidationProblemDetailsDto
                  : ProblemDetailsDto,
              ),
            },
            example: exampleFor(status),
          },
        },
      }),
    ),
  );

/**
 * One problem response with the operation's own reason for it: a 409 that
 * is not "already exists", a 403 beyond a missing scope. With a generic
 * entry for the same status, the descriptions are joined.
 */
export const ApiProblemResponse = (status: number, description: string) =>
  applyDecorators(
    ApiExtraModels(ProblemDetailsDto),
    ApiResponse({
      status,
      description,
      content: {
        'application/problem+json': {
          schema: { $ref: getSchemaPath(ProblemDetailsDto) },
        },
      },
    }),
  );
