import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiSecurity } from '@nestjs/swagger';
import { ApiProblemResponses } from '../common/api-problem-responses.decorator.js';
import type { Scope } from './scopes.js';

export const IS_PUBLIC = 'auth:isPublic';
export const REQUIRED_SCOPES = 'auth:requiredScopes';

/** Every route needs an access token unless it says otherwise here. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/**
 * The route needs an access token carrying every one of these scopes; the
 * OpenAPI document shows the requirement (oauth2 with the scopes, or a
 * bearer token pasted by hand) and the 401 and 403 it can answer.
 */
export const Authenticated = (...scopes: Scope[]) =>
  applyDecorators(
    SetMetadata(REQUIRED_SCOPES, scopes),
    ApiSecurity('oauth2', scopes),
    ApiBearerAuth('bearer'),
    ApiProblemResponses(401, 403),
  );
