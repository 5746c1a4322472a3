import {
  Controller,
  HttpCode,
  HttpStatus,
  Post,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from './auth.decorators.js';
import { ApiOAuthErrorResponses } from './oauth/api-oauth-error-responses.decorator.js';
import { noStore } from './oauth/no-store.js';
import { InvalidRequest, UnsupportedGrantType } from './oauth/oauth.errors.js';
import { TokenRequestDto } from './oauth/token-request.dto.js';
import { TokenResponseDto } from './oauth/token-response.dto.js';
import { TokenGrantsService } from './token-grants.service.js';
import type { TokenEndpointRequest } from './token-request.guard.js';
import { TokenRequestGuard } from './token-request.guard.js';

@ApiTags('oauth')
@Controller('auth')
export class AuthController {
  constructor(private readonly grants: TokenGrantsService) {}

  /** Exchange credentials for an access token (OAuth 2.0 token endpoint) */
  @Public()
  @Post('token')
  @HttpCode(HttpStatus.OK)
  @UseGuards(TokenRequestGuard)
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({ type: TokenRequestDto })
  @ApiOkResponse({
    type: TokenResponseDto,
    description: 'RFC 6749 §5.1; never cached.',
  })
  @ApiOAuthErrorResponses(400, 401, 413, 415)
  async issueToken(
    @Req() request: TokenEndpointRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<TokenResponseDto> {
    const { tokenRequest, oauthClient } = request;
    switch (tokenRequest.grant_type) {
      case undefined:
        throw new InvalidRequest('grant_type is required.');
      case 'password': {
        const response = await this.grants.passwordGrant(
          request.user!,
          oauthClient,
          tokenRequest.scope,
        );
        noStore(reply);
        return response;
      }
      default:
        throw new UnsupportedGrantType(
          `grant_type "${tokenRequest.grant_type}" is not supported; use password.`,
        );
    }
  }
}
