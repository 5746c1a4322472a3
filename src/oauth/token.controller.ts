import {
  Controller,
  HttpCode,
  HttpStatus,
  Logger,
  Post,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiOkResponse,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { databaseUnavailableCause } from '../database/unavailable.js';
import { requestOrigin } from '../access/actor.js';
import { RateLimit } from '../rate-limiting/rate-limit.decorator.js';
import { Public } from '../access/auth.decorators.js';
import { ClientAuthenticator } from './client-authenticator.service.js';
import { LoginDevices } from '../users/credentials/login-devices.service.js';
import { IssuedTokensService } from './issued-tokens.service.js';
import type { OAuthRequest } from './oauth-client.guard.js';
import { OAuthClientGuard } from './oauth-client.guard.js';
import { ApiOAuthErrorResponses } from './protocol/api-oauth-error-responses.decorator.js';
import { IntrospectionDto } from './protocol/introspection.dto.js';
import { noStore } from '../common/no-store.js';
import {
  InvalidRequest,
  UnsupportedGrantType,
} from './protocol/oauth.errors.js';
import {
  TokenRequestDto,
  TokenTypeHintRequestDto,
} from './protocol/token-request.dto.js';
import { TokenResponseDto } from './protocol/token-response.dto.js';
import { PasswordGrantGuard } from './password-grant.guard.js';
import { TokenGrantsService } from './token-grants.service.js';
import { TokenExchange } from './token-exchange.service.js';
import {
  DEVICE_CODE_GRANT_TYPE,
  TOKEN_EXCHANGE_GRANT_TYPE,
} from '../clients/client.entity.js';
import { DeviceFlow } from './device/device-flow.service.js';
import { ApiDpopProofHeader } from '../access/auth.decorators.js';
import { DpopProofGuard } from './dpop/dpop-proof.guard.js';
import { AuthorizationCodeGrant } from './authorization/authorization-code-grant.service.js';

@ApiTags('oauth')
@Controller('auth')
@Public()
export class TokenController {
  private readonly logger = new Logger(TokenController.name);

  constructor(
    private readonly grants: TokenGrantsService,
    private readonly issuedTokens: IssuedTokensService,
    private readonly clients: ClientAuthenticator,
    private readonly devices: LoginDevices,
    private readonly exchange: TokenExchange,
    private readonly deviceFlow: DeviceFlow,
    private readonly codeGrant: AuthorizationCodeGrant,
  ) {}

  /** Exchange credentials or a refresh token for tokens (OAuth 2.0 token endpoint) */
  @Post('token')
  @HttpCode(HttpStatus.OK)
  @RateLimit('token')
  @UseGuards(OAuthClientGuard, DpopProofGuard, PasswordGrantGuard)
  @ApiSecurity('clientBasic')
  @ApiDpopProofHeader(
    'Optional: a DPoP proof (RFC 9449 §4) for this request (`htm` POST, `htu` the token endpoint). With it the access token is bound to its key (`cnf.jkt`) and `token_type` is `DPoP`; for the public client, the refresh token too. Required for a client registered with `dpopBoundAccessTokens`.',
  )
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({ type: TokenRequestDto })
  @ApiOkResponse({
    type: TokenResponseDto,
    description: 'RFC 6749 §5.1; never cached.',
    headers: {
      'Set-Cookie': {
        description:
          'Password grant only: the device cookie (`login-device`, or `__Host-login-device` when PUBLIC_URL is https; HttpOnly, SameSite=Strict). Sent back with a later password grant for the same account, it gives that device a login back-off of its own.',
        schema: { type: 'string' },
      },
    },
  })
  @ApiOAuthErrorResponses(400, 401, 413, 415, 429, 503)
  async issueToken(
    @Req() request: OAuthRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<TokenResponseDto> {
    const { oauthForm: form, oauthClient: client } = request;
    let response: TokenResponseDto;
    switch (form.grant_type) {
      case undefined:
        throw new InvalidRequest('grant_type is required.');
      case 'password':
        response = await this.grants.passwordGrant(
          request.user!,
          client,
          request.tokenTarget!,
          form.scope,
          requestOrigin(request),
          request.dpop,
        );
        await this.rememberDevice(request, reply);
        break;
      case 'authorization_code':
        response = await this.codeGrant.redeem(
          form,
          client,
          requestOrigin(request),
          request.dpop,
        );
        break;
      case 'refresh_token':
        response = await this.grants.refreshGrant(
          form.refresh_token,
          client,
          form.scope,
          form.resource,
          requestOrigin(request),
          request.dpop,
        );
        break;
      case 'client_credentials':
        response = await this.grants.clientCredentialsGrant(
          client,
          form.scope,
          form.resource,
          request.dpop,
        );
        break;
      case DEVICE_CODE_GRANT_TYPE:
        response = await this.deviceFlow.redeem(
          client,
          form,
          requestOrigin(request),
          request.dpop,
        );
        break;
      case TOKEN_EXCHANGE_GRANT_TYPE:
        response = await this.exchange.exchange(
          client,
          form,
          requestOrigin(request),
          request.dpop,
        );
        break;
      default:
        // Not echoed: it is the caller's text, and RFC 6749 §5.2 allows
        // only printable ASCII without `"` or `\` in a description.
        throw new UnsupportedGrantType(
          'This grant_type is not supported; use authorization_code, password, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code or urn:ietf:params:oauth:grant-type:token-exchange.',
        );
    }
    noStore(reply);
    return response;
  }

  /**
   * After the session is stored, so a failure here cannot undo the login:
   * answered 503, the client would hold no tokens for a session that
   * exists, and would log in again. Without a cookie this time, the device
   * is a stranger at its next login, no more.
   */
  private async rememberDevice(
    request: OAuthRequest,
    reply: FastifyReply,
  ): Promise<void> {
    try {
      await this.devices.remember(request.user!, request.loginDevice, reply);
    } catch (error) {
      const cause = databaseUnavailableCause(error);
      if (cause === undefined) throw error;
      this.logger.warn(
        `A login's device cookie was not stored (the database: ${cause}); the login stands`,
      );
    }
  }

  /** Revoke a refresh or access token, ending its session (RFC 7009) */
  @Post('revoke')
  @HttpCode(HttpStatus.OK)
  @UseGuards(OAuthClientGuard)
  @ApiSecurity('clientBasic')
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({ type: TokenTypeHintRequestDto })
  @ApiOkResponse({
    description:
      'Revoked, or nothing to revoke: the answer is the same (RFC 7009 §2.2).',
  })
  @ApiOAuthErrorResponses(400, 401, 413, 415, 429, 503)
  async revokeToken(
    @Req() request: OAuthRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    const { token } = request.oauthForm;
    if (token === undefined) throw new InvalidRequest('token is required.');
    await this.issuedTokens.revoke(
      token,
      request.oauthClient,
      requestOrigin(request),
    );
    noStore(reply);
  }

  /** Introspect a token: is it active, and for whom (RFC 7662; client authentication required) */
  @Post('introspect')
  @HttpCode(HttpStatus.OK)
  @UseGuards(OAuthClientGuard)
  @ApiSecurity('clientBasic')
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({ type: TokenTypeHintRequestDto })
  @ApiOkResponse({ type: IntrospectionDto })
  @ApiOAuthErrorResponses(400, 401, 413, 415, 429, 503)
  async introspectToken(
    @Req() request: OAuthRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<IntrospectionDto> {
    // §2.1: the endpoint requires authorization; here, a registered client.
    this.clients.requireConfidential(request.oauthClient, 'Introspection');
    const { token } = request.oauthForm;
    if (token === undefined) throw new InvalidRequest('token is required.');
    noStore(reply);
    return this.issuedTokens.introspect(token, request.oauthClient.client);
  }
}
