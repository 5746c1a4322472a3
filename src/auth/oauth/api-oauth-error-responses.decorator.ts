import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { OAuthErrorDto } from './oauth-error.dto.js';

const DESCRIPTIONS: Record<number, string> = {
  400: 'RFC 6749 §5.2 error: invalid_request, invalid_grant, unsupported_grant_type, invalid_scope or unauthorized_client.',
  401: 'invalid_client: client authentication failed (`WWW-Authenticate: Basic`).',
  413: 'invalid_request: the body is too large.',
  415: 'invalid_request: the body is not application/x-www-form-urlencoded.',
  429: 'temporarily_unavailable: too many requests from this address, too many failed logins for this username (or device), or too many failed client authentications from this address or as this client; `Retry-After` gives the seconds to wait.',
};

/** Documents the RFC 6749 error bodies of an OAuth endpoint. */
export const ApiOAuthErrorResponses = (...statuses: number[]) =>
  applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status],
        type: OAuthErrorDto,
      }),
    ),
  );
