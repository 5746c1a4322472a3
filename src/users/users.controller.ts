import {
  Body,
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  Post,
  Res,
} from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiProblemResponses } from '../common/api-problem-responses.decorator.js';
import { Authenticated, Public } from '../auth/auth.decorators.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { CreateUserDto } from './dto/create-user.dto.js';
import { UserDto } from './dto/user.dto.js';
import type { User } from './user.entity.js';
import { UsersService } from './users.service.js';

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  /** Register a new user */
  @Public()
  @Post()
  @HttpCode(HttpStatus.CREATED)
  @ApiCreatedResponse({
    type: UserDto,
    description: 'The new user; `Location` is its URL.',
  })
  @ApiProblemResponses(400, 409, 413, 415)
  async registerUser(
    @Body() body: CreateUserDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<UserDto> {
    const user = await this.users.create(body.username, body.password);
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
}
