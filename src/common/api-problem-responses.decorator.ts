import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { STATUS_CODES } from 'node:http';
import {
  ProblemDetailsDto,
  ValidationProblemDetailsDto,
} from './problem-details.dto.js';

const DESCRIPTIONS: Partial<Record<number, string>> = {
  400: 'The request is invalid; `errors` names each invalid field.',
  401: 'No valid access token. `WWW-Authenticate: Bearer` says why (RFC 6750 §3).',
  403: 'The access token lacks a required scope (`WWW-Authenticate: Bearer error="insufficient_scope"`).',
  404: 'No such resource.',
  409: 'The resource already exists.',
  413: 'The request body is too large.',
  415: 'The content type is not accepted.',
  503: 'A check failed: the service cannot serve requests now.',
};

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
          },
        },
      }),
    ),
  );
