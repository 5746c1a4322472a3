import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Authenticated } from '../access/auth.decorators.js';
import { ApiProblemResponses } from '../common/api-problem-responses.decorator.js';
import { AuditEventsService } from './audit-events.service.js';
import { AuditEventDto, AuditEventPageDto } from './dto/audit-event.dto.js';
import { ListAuditEventsQueryDto } from './dto/list-audit-events.dto.js';

@ApiTags('audit')
@Controller('audit-events')
export class AuditEventsController {
  constructor(private readonly events: AuditEventsService) {}

  /** List security events, newest first (administrators) */
  @Authenticated('audit:read')
  @Get()
  @ApiOkResponse({ type: AuditEventPageDto })
  @ApiProblemResponses(400)
  async listAuditEvents(
    @Query() query: ListAuditEventsQueryDto,
  ): Promise<AuditEventPageDto> {
    const { items, total } = await this.events.list(
      {
        userId: query.userId,
        types: query.type,
        since: query.since === undefined ? undefined : new Date(query.since),
        until: query.until === undefined ? undefined : new Date(query.until),
      },
      query.page,
      query.limit,
    );
    return {
      items: items.map((event) => AuditEventDto.from(event)),
      total,
      page: query.page,
      limit: query.limit,
    };
  }
}
