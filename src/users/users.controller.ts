import {
  Body,
  Controller,
  Delete,
  ForbiddenException,
  Get,
  HttpCode,
  HttpStatus,
  NotFoundException,
  Param,
  Patch,
  Post,
  Put,
  Query,
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
import { ParseUuid } from '../common/validation.js';
import type { AccessPrincipal } from '../access/access-principal.js';
import { isUserAdmin } from '../access/access-principal.js';
import {
  Authenticated,
  AuthenticationOptional,
} from '../access/auth.decorators.js';
import {
  CurrentPrincipal,
  CurrentUser,
} from '../access/current-user.decorator.js';
import {
  ApiProblemResponse,
  ApiProblemResponses,
} from '../common/api-problem-responses.decorator.js';
import { RateLimit } from '../rate-limiting/rate-limit.decorator.js';
import { ChangePasswordDto } from './dto/change-password.dto.js';
import { CreateUserDto } from './dto/create-user.dto.js';
import { DeleteCurrentUserDto } from './dto/delete-current-user.dto.js';
import { ListUsersQueryDto, UserPageDto } from './dto/list-users.dto.js';
import { AdminUpdateUserDto, UpdateProfileDto } from './dto/update-user.dto.js';
import { UserDto } from './dto/user.dto.js';
import { ProfileChanges } from './profile-changes.service.js';
import type { User } from './user.entity.js';
import { UserAdministration } from './user-administration.service.js';
import { UserRegistration } from './user-registration.service.js';
import { UsersService } from './users.service.js';

/** The other reason a route that checks the current password can answer 429. */
const PASSWORD_BACKOFF =
  'Or the username is waiting out its login back-off: the current password counts as a login attempt.';

/** Why a change of who holds power can answer 403. */
const PERSON_ONLY =
  "Sent with a client's token: only an admin's own token may change roles, or deactivate, reactivate or delete an admin.";

/** Why a change to an admin can answer 409. */
const LAST_ADMIN =
  'The user is the last active admin: it cannot be demoted, deactivated or deleted until another user is an admin.';

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(
    private readonly users: UsersService,
    private readonly registration: UserRegistration,
    private readonly profile: ProfileChanges,
    private readonly administration: UserAdministration,
  ) {}

  /** Register a new user (with REGISTRATION=closed, only an admin may) */
  @AuthenticationOptional('users:write')
  @Post()
  @HttpCode(HttpStatus.CREATED)
  @RateLimit('registration')
  @ApiCreatedResponse({
    type: UserDto,
    description: 'The new user; `Location` is its URL.',
  })
  @ApiProblemResponses(400, 401, 403, 409, 413, 415, 429)
  async registerUser(
    @Body() body: CreateUserDto,
    @CurrentPrincipal() principal: AccessPrincipal | undefined,
    @CurrentActor() actor: Actor,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<UserDto> {
    const user = await this.registration.register(
      body.username,
      body.password,
      {
        byAdmin: principal?.scopes.includes('users:write') === true,
        actor,
      },
    );
    void reply.header('Location', `/users/${user.id}`);
    return UserDto.from(user);
  }

  /** The user the access token belongs to */
  @Authenticated('profile')
  @Get('me')
  @ApiOkResponse({ type: UserDto })
  getCurrentUser(@CurrentUser() user: User): UserDto {
    return UserDto.from(user);
  }

  /** Change the current user's profile (a new username needs the current password) */
  @Authenticated('profile')
  @Patch('me')
  @ApiOkResponse({ type: UserDto })
  @ApiProblemResponse(429, PASSWORD_BACKOFF)
  @ApiProblemResponses(400, 409, 429)
  async updateCurrentUser(
    @CurrentUser() user: User,
    @Body() body: UpdateProfileDto,
    @CurrentActor() actor: Actor,
  ): Promise<UserDto> {
    return UserDto.from(
      body.username === undefined
        ? user
        : await this.profile.rename(
            user,
            body.username,
            // Validation requires it whenever `username` is sent.
            body.currentPassword!,
            actor,
          ),
    );
  }

  /** Change the current user's password, ending every session */
  @Authenticated('profile')
  @Put('me/password')
  @HttpCode(HttpStatus.NO_CONTENT)
  @RateLimit('password-change')
  @ApiNoContentResponse({
    description:
      'Changed; every refresh token and earlier access token stops working.',
  })
  @ApiProblemResponse(429, PASSWORD_BACKOFF)
  @ApiProblemResponses(400, 429)
  async changePassword(
    @CurrentUser() user: User,
    @Body() body: ChangePasswordDto,
    @CurrentActor() actor: Actor,
  ): Promise<void> {
    await this.profile.changePassword(
      user,
      body.currentPassword,
      body.newPassword,
      actor,
    );
  }

  /** Delete the current user's account (the body gives the current password) */
  @Authenticated('profile')
  @Delete('me')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse()
  @ApiProblemResponse(429, PASSWORD_BACKOFF)
  @ApiProblemResponses(400, 429)
  @ApiProblemResponse(409, LAST_ADMIN)
  async deleteCurrentUser(
    @CurrentUser() user: User,
    @Body() body: DeleteCurrentUserDto,
    @CurrentActor() actor: Actor,
  ): Promise<void> {
    await this.profile.removeOwnAccount(user, body.currentPassword, actor);
  }

  /** List users, a page at a time (administrators) */
  @Authenticated('users:read')
  @Get()
  @ApiOkResponse({ type: UserPageDto })
  @ApiProblemResponses(400)
  async listUsers(@Query() query: ListUsersQueryDto): Promise<UserPageDto> {
    const { items, total } = await this.users.list(
      query.page,
      query.limit,
      query.username,
    );
    return {
      items: items.map((user) => UserDto.from(user)),
      total,
      page: query.page,
      limit: query.limit,
    };
  }

  /** Read any user (administrators) */
  @Authenticated('users:read')
  @Get(':id')
  @ApiOkResponse({ type: UserDto })
  @ApiProblemResponses(400, 404)
  async getUser(@Param('id', ParseUuid()) id: string): Promise<UserDto> {
    return UserDto.from(await this.existing(id));
  }

  /** Activate, deactivate or change the roles of any user (administrators) */
  @Authenticated('users:write')
  @Patch(':id')
  @ApiOkResponse({ type: UserDto })
  @ApiProblemResponses(400, 404)
  @ApiProblemResponse(403, PERSON_ONLY)
  @ApiProblemResponse(409, LAST_ADMIN)
  async updateUser(
    @Param('id', ParseUuid()) id: string,
    @Body() body: AdminUpdateUserDto,
    @CurrentPrincipal() principal: AccessPrincipal,
    @CurrentActor() actor: Actor,
  ): Promise<UserDto> {
    const user = await this.existing(id);
    if (body.roles !== undefined) assertPersonAdmin(principal, 'change roles');
    if (body.isActive !== undefined && isAdmin(user))
      assertPersonAdmin(principal, 'deactivate or reactivate an admin');
    return UserDto.from(await this.administration.update(user, body, actor));
  }

  /** Delete any user (administrators) */
  @Authenticated('users:write')
  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse()
  @ApiProblemResponses(400, 404)
  @ApiProblemResponse(403, PERSON_ONLY)
  @ApiProblemResponse(409, LAST_ADMIN)
  async deleteUser(
    @Param('id', ParseUuid()) id: string,
    @CurrentPrincipal() principal: AccessPrincipal,
    @CurrentActor() actor: Actor,
  ): Promise<void> {
    const user = await this.existing(id);
    if (isAdmin(user)) assertPersonAdmin(principal, 'delete an admin');
    await this.administration.remove(user, actor);
  }

  private async existing(id: string): Promise<User> {
    const user = await this.users.findById(id);
    if (user === null) throw new NotFoundException('No user has this id.');
    return user;
  }
}

const isAdmin = (user: User) => user.roles.includes('admin');

/**
 * Clients may be registered with users:write, but who holds power stays a
 * person's call: a client that could grant roles would make anyone an
 * admin, and one that could deactivate or delete admins could take the
 * service away from the people who run it.
 */
function assertPersonAdmin(principal: AccessPrincipal, action: string): void {
  if (!isUserAdmin(principal)) {
    throw new ForbiddenException(
      `Only an admin's own access token may ${action}, not a client's.`,
    );
  }
}
