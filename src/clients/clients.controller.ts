import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  NotFoundException,
  Param,
  Post,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Actor } from '../audit/actor.js';
import { CurrentActor } from '../audit/actor.js';
import { Authenticated } from '../auth/auth.decorators.js';
import { ApiProblemResponses } from '../common/api-problem-responses.decorator.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { ClientsService } from './clients.service.js';
import { ClientDto, CreatedClientDto } from './dto/client.dto.js';
import { CreateClientDto } from './dto/create-client.dto.js';

@ApiTags('clients')
@Controller('clients')
export class ClientsController {
  constructor(
    private readonly clients: ClientsService,
    private readonly sessions: SessionsService,
  ) {}

  /** Register a service client (the secret is shown once) */
  @Authenticated('clients:write')
  @Post()
  @HttpCode(HttpStatus.CREATED)
  @ApiCreatedResponse({ type: CreatedClientDto })
  @ApiProblemResponses(400)
  async createClient(
    @Body() body: CreateClientDto,
    @CurrentActor() actor: Actor,
  ): Promise<CreatedClientDto> {
    const { client, clientSecret } = await this.clients.create(body, actor);
    return CreatedClientDto.withSecret(client, clientSecret);
  }

  /** List service clients */
  @Authenticated('clients:write')
  @Get()
  @ApiOkResponse({ type: [ClientDto] })
  async listClients(): Promise<ClientDto[]> {
    return (await this.clients.list()).map((client) => ClientDto.from(client));
  }

  /** Delete a service client; its tokens and sessions end with it */
  @Authenticated('clients:write')
  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse()
  @ApiProblemResponses(404)
  async deleteClient(
    @Param('id') id: string,
    @CurrentActor() actor: Actor,
  ): Promise<void> {
    if (!(await this.clients.remove(id, actor)))
      throw new NotFoundException('No client has this id.');
    await this.sessions.endAllForClient(id);
  }
}
