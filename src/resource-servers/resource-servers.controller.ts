import {
  Body,
  ConflictException,
  Controller,
  Delete,
  ForbiddenException,
  Get,
  Header,
  HttpCode,
  HttpStatus,
  NotFoundException,
  Param,
  Post,
  Put,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { AccessPrincipal } from '../access/access-principal.js';
import { isUserAdmin } from '../access/access-principal.js';
import type { Actor } from '../access/actor.js';
import { CurrentActor } from '../access/actor.js';
import { Authenticated, Public } from '../access/auth.decorators.js';
import { CurrentPrincipal } from '../access/current-user.decorator.js';
import {
  ApiProblemResponse,
  ApiProblemResponses,
} from '../common/api-problem-responses.decorator.js';
import { ValidationProblemException } from '../common/http-problem.exception.js';
import type { AppConfig } from '../config/env.js';
import { CreateResourceServerDto } from './dto/create-resource-server.dto.js';
import {
  AllowClientDto,
  ApiProtectedResourceMetadataDto,
  ResourceServerClientDto,
} from './dto/resource-server-client.dto.js';
import { ResourceServerDto } from './dto/resource-server.dto.js';
import { resourceIdentifierProblem } from './resource-identifier.js';
import type { ResourceServer } from './resource-server.entity.js';
import { ResourceServersService } from './resource-servers.service.js';

@ApiTags('resource-servers')
@Controller('resource-servers')
export class ResourceServersController {
  private readonly ownIdentifiers: ReadonlySet<string>;
  private readonly ownAudience: string;
  private readonly issuer: string;

  constructor(
    private readonly servers: ResourceServersService,
    config: ConfigService<AppConfig, true>,
  ) {
    this.issuer = config.get('PUBLIC_URL', { infer: true });
    this.ownAudience = config.get('ACCESS_TOKEN_AUDIENCE', { infer: true });
    this.ownIdentifiers = new Set([this.issuer, this.ownAudience]);
  }

  /** Register an API that accepts this service's tokens (an RFC 8707 resource) */
  @Authenticated('clients:write')
  @Post()
  @HttpCode(HttpStatus.CREATED)
  @ApiCreatedResponse({ type: ResourceServerDto })
  @ApiProblemResponses(400)
  @ApiProblemResponse(409, 'Another API has this identifier.')
  async createResourceServer(
    @Body() body: CreateResourceServerDto,
    @CurrentActor() actor: Actor,
  ): Promise<ResourceServerDto> {
    const problem = resourceIdentifierProblem(body.identifier);
    if (problem !== null)
      throw new ValidationProblemException([
        { field: 'identifier', message: `identifier ${problem}` },
      ]);
    if (this.ownIdentifiers.has(body.identifier))
      throw new ValidationProblemException([
        {
          field: 'identifier',
          message:
            "identifier is this service's own audience; a token request without resource is for it",
        },
      ]);
    const names = body.scopes.map((scope) => scope.name);
    const repeated = names.filter((name, at) => names.indexOf(name) !== at);
    if (repeated.length > 0)
      throw new ValidationProblemException([
        {
          field: 'scopes',
          message: `scopes name ${[...new Set(repeated)].join(', ')} more than once`,
        },
      ]);
    const created = await this.servers.create(
      {
        identifier: body.identifier,
        name: body.name,
        scopes: body.scopes.map(({ name, description, roles }) => ({
          name,
          description,
          roles: [...new Set(roles)],
        })),
      },
      actor,
    );
    if (created === 'taken')
      throw new ConflictException('Another API has this identifier.');
    return ResourceServerDto.from(created);
  }

  /** List the registered APIs */
  @Authenticated('clients:write')
  @Get()
  @ApiOkResponse({ type: [ResourceServerDto] })
  async listResourceServers(): Promise<ResourceServerDto[]> {
    return (await this.servers.list()).map((server) =>
      ResourceServerDto.from(server),
    );
  }

  /** Read a registered API */
  @Authenticated('clients:write')
  @Get(':id')
  @ApiOkResponse({ type: ResourceServerDto })
  @ApiProblemResponses(404)
  async getResourceServer(@Param('id') id: string): Promise<ResourceServerDto> {
    return ResourceServerDto.from(await this.existing(id));
  }

  /** Delete an API: its tokens stop introspecting as active, and no client may ask for new ones */
  @Authenticated('clients:write')
  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse()
  @ApiProblemResponses(404)
  async deleteResourceServer(
    @Param('id') id: string,
    @CurrentActor() actor: Actor,
  ): Promise<void> {
    if (!(await this.servers.remove(id, actor)))
      throw new NotFoundException('No API has this id.');
  }

  /** The clients this API lets ask for its tokens */
  @Authenticated('clients:write')
  @Get(':id/clients')
  @ApiOkResponse({ type: [ResourceServerClientDto] })
  @ApiProblemResponses(404)
  async listResourceServerClients(
    @Param('id') id: string,
  ): Promise<ResourceServerClientDto[]> {
    const server = await this.existing(id);
    return (await this.servers.clientsOf(server)).map((grant) =>
      ResourceServerClientDto.from(grant),
    );
  }

  /** Let a client ask for this API's tokens, with some of its scopes (replaces what it had) */
  @Authenticated('clients:write')
  @Put(':id/clients/:clientId')
  @ApiOkResponse({ type: ResourceServerClientDto })
  @ApiProblemResponses(400, 404)
  @ApiProblemResponse(
    403,
    "Only an admin's own access token may let a client call an API.",
  )
  async allowResourceServerClient(
    @Param('id') id: string,
    @Param('clientId') clientId: string,
    @Body() body: AllowClientDto,
    @CurrentPrincipal() principal: AccessPrincipal,
    @CurrentActor() actor: Actor,
  ): Promise<ResourceServerClientDto> {
    // Handing a client an API's scopes is a power only a person may use: a client with
    // clients:write could otherwise register a client of its own with any API's scopes.
    if (!isUserAdmin(principal))
      throw new ForbiddenException(
        "Only an admin's own access token may let a client call an API, not a client's.",
      );
    const server = await this.existing(id);
    const defined = new Set(server.scopes.map((scope) => scope.name));
    const unknown = body.scopes.filter((scope) => !defined.has(scope));
    if (unknown.length > 0)
      throw new ValidationProblemException([
        {
          field: 'scopes',
          message: `scopes ${unknown.join(', ')} are not defined by this API`,
        },
      ]);
    const exchangeFrom = body.exchangeFrom ?? [];
    const unknownAudiences = await this.unknownAudiences(exchangeFrom);
    if (unknownAudiences.length > 0)
      throw new ValidationProblemException([
        {
          field: 'exchangeFrom',
          message: `exchangeFrom names neither this service nor a registered API: ${unknownAudiences.join(', ')}`,
        },
      ]);
    const grant = await this.servers.allowClient(
      server,
      clientId,
      {
        scopes: body.scopes,
        exchangeFrom,
        impersonation: body.impersonation ?? false,
      },
      actor,
    );
    if (grant === 'no_client')
      throw new NotFoundException('No client has this id.');
    return ResourceServerClientDto.from(grant);
  }

  /** Stop letting a client ask for this API's tokens (those it holds, its own and its users', stop working at once) */
  @Authenticated('clients:write')
  @Delete(':id/clients/:clientId')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse()
  @ApiProblemResponses(404)
  async disallowResourceServerClient(
    @Param('id') id: string,
    @Param('clientId') clientId: string,
    @CurrentActor() actor: Actor,
  ): Promise<void> {
    const server = await this.existing(id);
    if (!(await this.servers.disallowClient(server, clientId, actor)))
      throw new NotFoundException('This API does not let this client in.');
  }

  /** The API's protected resource metadata (RFC 9728), for the API to serve at its own /.well-known/oauth-protected-resource */
  @Public()
  @Get(':id/protected-resource-metadata')
  @Header('Cache-Control', 'public, max-age=300')
  @ApiOkResponse({ type: ApiProtectedResourceMetadataDto })
  @ApiProblemResponses(404, 503)
  async getResourceServerMetadata(
    @Param('id') id: string,
  ): Promise<ApiProtectedResourceMetadataDto> {
    const server = await this.existing(id);
    return {
      resource: server.identifier,
      resource_name: server.name,
      authorization_servers: [this.issuer],
      scopes_supported: server.scopes.map((scope) => scope.name),
      bearer_methods_supported: ['header'],
    };
  }

  private async unknownAudiences(
    audiences: readonly string[],
  ): Promise<string[]> {
    const unknown: string[] = [];
    for (const audience of audiences) {
      if (audience === this.ownAudience) continue;
      if ((await this.servers.findByIdentifier(audience)) === null)
        unknown.push(audience);
    }
    return unknown;
  }

  private async existing(id: string): Promise<ResourceServer> {
    const server = await this.servers.findById(id);
    if (server === null) throw new NotFoundException('No API has this id.');
    return server;
  }
}
