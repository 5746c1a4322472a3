import { applyDecorators } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiResponse } from '@nestjs/swagger';
import type {} from '../../common/error-format.js';
import { OAuthErrorDto } from './oauth-error.dto.js';

const DESCRIPTIONS: Record<number, string> = {
  400: 'RFC 6749 §5.2 error: invalid_request, invalid_grant, unsupported_grant_type, invalid_scope or unauthorized_client; at the token endpoint also invalid_dpop_proof (RFC 9449 §5), for a DPoP proof that is malformed, replayed, too old or not for this request.',
  401: 'invalid_client: client authentication failed (`WWW-Authenticate: Basic`).',
  413: 'invalid_request: the body is too large.',
  415: 'invalid_request: the body is not application/x-www-form-urlencoded.',
  429: 'temporarily_unavailable: too many requests from this address, too many failed logins for this username (or device), or too many failed client authentications from this address or as this client; `Retry-After` gives the seconds to wait.',
  503: 'temporarily_unavailable: the database is unavailable; `Retry-After` gives the seconds to wait.',
};

/**
 * Makes an endpoint's errors RFC 6749 §5.2 bodies and documents them: one
 * decorator, so what the document promises is what the error filter
 * writes. Fastify route config, not Nest metadata: errors raised before
 * the handler (413, 415, malformed bodies) reach the filter with the
 * request's route but no handler.
 */
export const ApiOAuthErrorResponses = (...statuses: number[]) =>
  applyDecorators(
    RouteConfig({ errorFormat: 'oauth' }),
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status],
        type: OAuthErrorDto,
      }),
    ),
  );
