import {
  Body,
  ConflictException,
  Controller,
  Delete,
  ForbiddenException,
  Get,
  HttpCode,
  HttpStatus,
  NotFoundException,
  Param,
  Post,
  Put,
  Res,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Actor } from '../access/actor.js';
import { CurrentActor } from '../access/actor.js';
import type { AccessPrincipal } from '../access/access-principal.js';
import { isUserAdmin } from '../access/access-principal.js';
import { Authenticated } from '../access/auth.decorators.js';
import { CurrentPrincipal } from '../access/current-user.decorator.js';
import { noStore } from '../common/no-store.js';
import {
  ApiProblemResponse,
  ApiProblemResponses,
} from '../common/api-problem-responses.decorator.js';
import { ValidationProblemException } from '../common/http-problem.exception.js';
import { readClientJwks } from './client-jwks.js';
import type { ClientJwks } from './client-jwks.js';
import { DEVICE_CODE_GRANT_TYPE } from './client.entity.js';
import { ClientsService } from './clients.service.js';
import type { FieldError } from '../common/http-problem.exception.js';
import { redirectUriProblem } from './redirect-uris.js';
import { ClientDto, CreatedClientDto } from './dto/client.dto.js';
import { ClientJwksDto } from './dto/client-jwks.dto.js';
import { CreateClientDto } from './dto/create-client.dto.js';

@ApiTags('clients')
@Controller('clients')
export class ClientsController {
  constructor(private readonly clients: ClientsService) {}

  /** Register a service client (its secret is shown once; a private_key_jwt client has keys instead) */
  @Authenticated('clients:write')
  @Post()
  @HttpCode(HttpStatus.CREATED)
  @ApiCreatedResponse({
    type: CreatedClientDto,
    description:
      'The new client with its secret; `Cache-Control: no-store`, as it holds a credential.',
  })
  @ApiProblemResponses(400)
  @ApiProblemResponse(
    403,
    "`allowedScopes` asks for a scope the caller's token does not have, or for `clients:write` without an admin's own token.",
  )
  async createClient(
    @Body() body: CreateClientDto,
    @CurrentPrincipal() principal: AccessPrincipal,
    @CurrentActor() actor: Actor,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CreatedClientDto> {
    assertMayDelegate(principal, body.allowedScopes);
    assertBrowserRegistration(body);
    const jwks = await keysOf(body);
    const { client, clientSecret } = await this.clients.create(
      {
        name: body.name,
        allowedScopes: body.allowedScopes,
        allowedGrantTypes: body.allowedGrantTypes,
        jwks,
        dpopBoundAccessTokens: body.dpopBoundAccessTokens,
        clientType: body.clientType,
        redirectUris: body.redirectUris,
        firstParty: body.firstParty,
      },
      actor,
    );
    noStore(reply);
    return CreatedClientDto.withSecret(client, clientSecret);
  }

  /** List service clients */
  @Authenticated('clients:write')
  @Get()
  @ApiOkResponse({ type: [ClientDto] })
  async listClients(): Promise<ClientDto[]> {
    return (await this.clients.list()).map((client) => ClientDto.from(client));
  }

  /** Replace the public keys of a private_key_jwt client (to rotate them: add the new key, switch, remove the old) */
  @Authenticated('clients:write')
  @Put(':id/jwks')
  @ApiOkResponse({ type: ClientDto })
  @ApiProblemResponses(400, 404)
  @ApiProblemResponse(409, 'The client authenticates with a secret, not keys.')
  async replaceClientJwks(
    @Param('id') id: string,
    @Body() body: ClientJwksDto,
    @CurrentActor() actor: Actor,
  ): Promise<ClientDto> {
    const jwks = await readClientJwks(body, '');
    const result = await this.clients.replaceJwks(id, jwks, actor);
    if (result === 'not_found')
      throw new NotFoundException('No client has this id.');
    if (result === 'no_keys')
      throw new ConflictException(
        'This client authenticates with a secret; a client with keys is registered with tokenEndpointAuthMethod private_key_jwt.',
      );
    return ClientDto.from(result);
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
  }
}

/**
 * The grants a client that holds no credential can be trusted with (RFC
 * 9700 §2.1, OAuth 2.1 §2.1), and the device flow, made for such clients:
 * a command-line tool cannot keep a secret either (RFC 8628 §5.6).
 */
const PUBLIC_CLIENT_GRANT_TYPES: readonly string[] = [
  'authorization_code',
  DEVICE_CODE_GRANT_TYPE,
  'refresh_token',
];

/**
 * What a client signing people in through a browser must agree with: its
 * type and how it authenticates, its grants and its redirect URIs.
 */
function assertBrowserRegistration(body: CreateClientDto): void {
  const problems: FieldError[] = [];
  const isPublic = body.clientType === 'public';
  if (isPublic) {
    if (
      body.tokenEndpointAuthMethod !== undefined &&
      body.tokenEndpointAuthMethod !== 'none'
    )
      problems.push({
        field: 'tokenEndpointAuthMethod',
        message:
          'a public client has no secret and no keys: its tokenEndpointAuthMethod is none',
      });
    const refused = body.allowedGrantTypes.filter(
      (grant) => !PUBLIC_CLIENT_GRANT_TYPES.includes(grant),
    );
    if (refused.length > 0)
      problems.push({
        field: 'allowedGrantTypes',
        message: `a public client may use only authorization_code, the device_code grant and refresh_token, not ${refused.join(', ')}`,
      });
  } else if (body.tokenEndpointAuthMethod === 'none') {
    problems.push({
      field: 'tokenEndpointAuthMethod',
      message: 'none is for a public client (clientType public)',
    });
  }
  const redirectUris = body.redirectUris ?? [];
  if (body.allowedGrantTypes.includes('authorization_code')) {
    if (redirectUris.length === 0)
      problems.push({
        field: 'redirectUris',
        message: 'the authorization_code grant needs at least one redirect URI',
      });
  } else if (redirectUris.length > 0) {
    problems.push({
      field: 'redirectUris',
      message: 'redirect URIs are for the authorization_code grant',
    });
  }
  for (const uri of redirectUris) {
    const problem = redirectUriProblem(uri);
    if (problem !== null)
      problems.push({ field: 'redirectUris', message: problem });
  }
  if (problems.length > 0) throw new ValidationProblemException(problems);
}

/** The keys of a private_key_jwt client; none for a client with a secret. */
async function keysOf(body: CreateClientDto): Promise<ClientJwks | undefined> {
  if (body.tokenEndpointAuthMethod === 'private_key_jwt') {
    if (body.jwks === undefined) {
      throw new ValidationProblemException([
        {
          field: 'jwks',
          message:
            'jwks is required with tokenEndpointAuthMethod private_key_jwt',
        },
      ]);
    }
    return readClientJwks(body.jwks);
  }
  if (body.jwks !== undefined) {
    throw new ValidationProblemException([
      {
        field: 'jwks',
        message:
          'jwks is only for tokenEndpointAuthMethod private_key_jwt: a client has a secret or keys, not both',
      },
    ]);
  }
  return undefined;
}

/**
 * A new client gets no scope its creator lacks, or a token with
 * `clients:write` could register a client with `users:write` and so mint
 * itself any power. Registering clients is itself a power only a person may
 * hand on: a client that could create clients with `clients:write` would
 * outlive its own deletion through them.
 */
function assertMayDelegate(
  principal: AccessPrincipal,
  scopes: readonly string[],
): void {
  const notHeld = scopes.filter((scope) => !principal.scopes.includes(scope));
  if (notHeld.length > 0) {
    throw new ForbiddenException(
      `A client cannot be given scopes your token does not have: ${notHeld.join(', ')}.`,
    );
  }
  if (scopes.includes('clients:write') && !isUserAdmin(principal)) {
    throw new ForbiddenException(
      "Only an admin's own access token may create a client with clients:write, not a client's.",
    );
  }
}
