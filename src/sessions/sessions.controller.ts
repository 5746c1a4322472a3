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
import type { Actor } from '../access/actor.js';
import { CurrentActor } from '../access/actor.js';
import { ParseUuid } from '../common/validation.js';
import type { AccessPrincipal } from '../access/access-principal.js';
import { Authenticated } from '../access/auth.decorators.js';
import {
  CurrentPrincipal,
  CurrentUser,
} from '../access/current-user.decorator.js';
import { ApiProblemResponses } from '../common/api-problem-responses.decorator.js';
import { SessionDto } from './session.dto.js';
import { SessionEnder } from './session-ender.service.js';
import type { SessionOwner } from './session-owner.js';
import { SessionsService } from './sessions.service.js';

@ApiTags('sessions')
@Controller('users/me/sessions')
export class SessionsController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly ender: SessionEnder,
  ) {}

  /** The current user's sessions, one per login on a device */
  @Authenticated('profile')
  @Get()
  @ApiOkResponse({ type: [SessionDto] })
  async listOwnSessions(
    @CurrentUser() user: SessionOwner,
    @CurrentPrincipal() principal: AccessPrincipal,
  ): Promise<SessionDto[]> {
    const sessions = await this.sessions.listActive(user.id);
    return sessions.map((session) =>
      SessionDto.from(session, principal.sessionId),
    );
  }

  /** End one of the current user's sessions; the others stay signed in */
  @Authenticated('profile')
  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({
    description:
      'The session ended: its refresh and access tokens no longer work.',
  })
  @ApiProblemResponses(400, 404)
  async endOwnSession(
    @CurrentUser() user: SessionOwner,
    @Param('id', ParseUuid()) id: string,
    @CurrentActor() actor: Actor,
  ): Promise<void> {
    if (!(await this.ender.end(user, id, 'logout', actor))) {
      throw new NotFoundException('You have no active session with this id.');
    }
  }
}
