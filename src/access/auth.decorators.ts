import { applyDecorators, SetMetadata } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import { ApiBearerAuth, ApiHeader, ApiSecurity } from '@nestjs/swagger';
import { ApiProblemResponses } from '../common/api-problem-responses.decorator.js';
import type { AppConfig } from '../config/env.js';
import type { Scope } from './scopes.js';

export const IS_PUBLIC = 'auth:isPublic';
export const REQUIRED_SCOPES = 'auth:requiredScopes';
export const AUTHENTICATION_OPTIONAL = 'auth:optional';
export const AUTHENTICATED_WHEN = 'auth:authenticatedWhen';

/**
 * Every route needs an access token unless it says otherwise here. The
 * OpenAPI document says so too: `security: [{}]`, no credentials needed.
 */
export const Public = () =>
  applyDecorators(SetMetadata(IS_PUBLIC, true), ApiSecurity({}));

/**
 * RFC 9449's `DPoP` request header, documented as a header parameter
 * rather than a security scheme: Swagger UI would offer such a scheme and
 * cannot make proofs.
 */
export const ApiDpopProofHeader = (description: string) =>
  ApiHeader({
    name: 'DPoP',
    required: false,
    description,
    schema: { type: 'string' },
  });

const RESOURCE_DPOP_PROOF = ApiDpopProofHeader(
  'With a DPoP-bound access token only, sent as `Authorization: DPoP <token>`: a DPoP proof (RFC 9449 §4, §7.1) made with the key of the token (`cnf.jkt`) for this request (`htm` the method, `htu` PUBLIC_URL and the path, `ath` the base64url SHA-256 of the token), each one used once. Not used with a bearer token.',
);

/**
 * The route needs an access token carrying every one of these scopes; the
 * OpenAPI document shows the requirement (oauth2 with the scopes, or a
 * bearer token pasted by hand) and the 401 and 403 it can answer, and the
 * 503 of the database failing the token's user lookup.
 */
export const Authenticated = (...scopes: Scope[]) =>
  applyDecorators(
    SetMetadata(REQUIRED_SCOPES, scopes),
    ApiSecurity('oauth2', scopes),
    ApiBearerAuth('bearer'),
    RESOURCE_DPOP_PROOF,
    ApiProblemResponses(401, 403, 503),
  );

/**
 * Anyone may call the route, but a bearer token, when sent, is verified
 * (a bad one answers 401) so the handler can tell an admin from a stranger.
 * `scopes` are what a token needs for what the handler allows beyond the
 * anonymous case; they are documented here and checked by the handler.
 * Verifying a token reads its user: the database failing answers 503.
 */
export const AuthenticationOptional = (...scopes: Scope[]) =>
  applyDecorators(
    SetMetadata(AUTHENTICATION_OPTIONAL, true),
    ApiSecurity({}),
    ApiSecurity('oauth2', scopes),
    ApiBearerAuth('bearer'),
    RESOURCE_DPOP_PROOF,
    ApiProblemResponses(503),
  );

/** When a route needs a token, as the configuration says, and with which scopes. */
export interface AuthenticationCondition {
  when: (config: ConfigService<AppConfig, true>) => boolean;
  scopes: readonly Scope[];
}

/**
 * Whether the route needs a token is configuration: while `when` holds,
 * the guard treats it as `@Authenticated(...scopes)`; otherwise as
 * `@AuthenticationOptional(...scopes)`, the handler deciding. The OpenAPI
 * document, written once for every configuration, shows both.
 */
export const AuthenticatedWhen = (
  when: AuthenticationCondition['when'],
  ...scopes: Scope[]
) =>
  applyDecorators(
    SetMetadata(AUTHENTICATED_WHEN, { when, scopes }),
    AuthenticationOptional(...scopes),
  );
