import {
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  NotFoundException,
  Param,
} from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Authenticated } from '../access/auth.decorators.js';
import { CurrentUser } from '../access/current-user.decorator.js';
import { ApiProblemResponses } from '../common/api-problem-responses.decorator.js';
import type { User } from '../users/user.entity.js';
import { Consents } from './consents.service.js';
import { ConsentDto } from './dto/consent.dto.js';

@ApiTags('users')
@Controller('users/me/consents')
export class ConsentsController {
  constructor(private readonly consents: Consents) {}

  /** List the third-party apps you let sign you in, and with which scopes */
  @Authenticated('profile')
  @Get()
  @ApiOkResponse({ type: [ConsentDto] })
  async listMyConsents(@CurrentUser() user: User): Promise<ConsentDto[]> {
    return (await this.consents.list(user.id)).map((consent) =>
      ConsentDto.from(consent),
    );
  }

  /** Withdraw your consent to an app: its next sign-in asks you again (tokens it holds are not revoked) */
  @Authenticated('profile')
  @Delete(':clientId')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse()
  @ApiProblemResponses(404)
  async revokeMyConsent(
    @CurrentUser() user: User,
    @Param('clientId') clientId: string,
  ): Promise<void> {
    if (!(await this.consents.revoke(user.id, clientId)))
      throw new NotFoundException('You gave this client no consent.');
  }
}
