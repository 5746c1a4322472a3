import {
  Controller,
  HttpCode,
  HttpStatus,
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
import { Public } from '../../access/auth.decorators.js';
import { noStore } from '../../common/no-store.js';
import { RateLimit } from '../../rate-limiting/rate-limit.decorator.js';
import type { OAuthRequest } from '../oauth-client.guard.js';
import { OAuthClientGuard } from '../oauth-client.guard.js';
import { ApiOAuthErrorResponses } from '../protocol/api-oauth-error-responses.decorator.js';
import {
  DeviceAuthorizationRequestDto,
  DeviceAuthorizationResponseDto,
} from './device-authorization.dto.js';
import { DeviceFlow } from './device-flow.service.js';

@ApiTags('oauth')
@Controller('auth')
@Public()
export class DeviceAuthorizationController {
  constructor(private readonly deviceFlow: DeviceFlow) {}

  /** Start a device authorization for a command-line tool (RFC 8628 §3.1) */
  @Post('device_authorization')
  @HttpCode(HttpStatus.OK)
  @RateLimit('token')
  @UseGuards(OAuthClientGuard)
  @ApiSecurity('clientBasic')
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({ type: DeviceAuthorizationRequestDto })
  @ApiOkResponse({
    type: DeviceAuthorizationResponseDto,
    description:
      'RFC 8628 §3.2: show `user_code` and `verification_uri` to the user, then poll the token endpoint with `device_code` every `interval` seconds. Never cached.',
  })
  @ApiOAuthErrorResponses(400, 401, 413, 415, 429, 503)
  async startDeviceAuthorization(
    @Req() request: OAuthRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<DeviceAuthorizationResponseDto> {
    const response = await this.deviceFlow.start(
      request.oauthClient,
      request.oauthForm,
    );
    noStore(reply);
    return response;
  }
}
