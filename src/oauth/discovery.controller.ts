import { Controller, Get, Header } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { AppConfig } from '../config/env.js';
import { Public } from '../access/auth.decorators.js';
import {
  AuthorizationServerMetadataDto,
  ProtectedResourceMetadataDto,
} from './discovery.dto.js';
import { SIGNING_ALGORITHM } from './keys/key-material.js';
import { SCOPES } from '../access/scopes.js';
import { CLIENT_ASSERTION_ALGORITHMS } from '../clients/client-jwks.js';
import {
  DEVICE_CODE_GRANT_TYPE,
  TOKEN_EXCHANGE_GRANT_TYPE,
} from '../clients/client.entity.js';
import { DPOP_ALGORITHMS } from './dpop/dpop-proof-verifier.service.js';

@ApiTags('discovery')
@Public()
@Controller('.well-known')
export class DiscoveryController {
  private readonly authorizationServer: AuthorizationServerMetadataDto;
  private readonly protectedResource: ProtectedResourceMetadataDto;

  constructor(config: ConfigService<AppConfig, true>) {
    const issuer = config.get('PUBLIC_URL', { infer: true });
    const scopes = Object.keys(SCOPES);
    const clientAuthMethods = [
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
    ];
    const authMethods = [...clientAuthMethods, 'none'];
    const assertionAlgorithms = [...CLIENT_ASSERTION_ALGORITHMS];
    this.authorizationServer = {
      issuer,
      authorization_endpoint: `${issuer}/auth/authorize`,
      token_endpoint: `${issuer}/auth/token`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      revocation_endpoint: `${issuer}/auth/revoke`,
      introspection_endpoint: `${issuer}/auth/introspect`,
      device_authorization_endpoint: `${issuer}/auth/device_authorization`,
      grant_types_supported: [
        'authorization_code',
        ...(config.get('PASSWORD_GRANT', { infer: true }) === 'enabled'
          ? ['password']
          : []),
        'refresh_token',
        'client_credentials',
        DEVICE_CODE_GRANT_TYPE,
        TOKEN_EXCHANGE_GRANT_TYPE,
      ],
      scopes_supported: scopes,
      response_types_supported: ['code'],
      // RFC 7636 §4.3, RFC 9700 §2.1.1: plain would show the verifier to whoever sees the request.
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
      token_endpoint_auth_methods_supported: authMethods,
      token_endpoint_auth_signing_alg_values_supported: assertionAlgorithms,
      revocation_endpoint_auth_methods_supported: authMethods,
      revocation_endpoint_auth_signing_alg_values_supported:
        assertionAlgorithms,
      introspection_endpoint_auth_methods_supported: clientAuthMethods,
      introspection_endpoint_auth_signing_alg_values_supported:
        assertionAlgorithms,
      dpop_signing_alg_values_supported: [...DPOP_ALGORITHMS],
      service_documentation: `${issuer}/docs`,
    };
    this.protectedResource = {
      resource: config.get('ACCESS_TOKEN_AUDIENCE', { infer: true }),
      authorization_servers: [issuer],
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      scopes_supported: scopes,
      bearer_methods_supported: ['header'],
      resource_signing_alg_values_supported: [SIGNING_ALGORITHM],
      dpop_signing_alg_values_supported: [...DPOP_ALGORITHMS],
      // Swagger UI and existing clients send bearer tokens.
      dpop_bound_access_tokens_required: false,
      resource_documentation: `${issuer}/docs`,
    };
  }

  /** Authorization server metadata (RFC 8414) */
  @Get('oauth-authorization-server')
  @Header('Cache-Control', 'public, max-age=3600')
  @ApiOkResponse({ type: AuthorizationServerMetadataDto })
  getAuthorizationServerMetadata(): AuthorizationServerMetadataDto {
    return this.authorizationServer;
  }

  /** Protected resource metadata of the user API (RFC 9728) */
  @Get('oauth-protected-resource')
  @Header('Cache-Control', 'public, max-age=3600')
  @ApiOkResponse({ type: ProtectedResourceMetadataDto })
  getProtectedResourceMetadata(): ProtectedResourceMetadataDto {
    return this.protectedResource;
  }
}
