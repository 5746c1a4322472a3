import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-local';
import type { User } from '../users/user.entity.js';
import { UsersService } from '../users/users.service.js';

/** The resource owner's username and password of the password grant (RFC 6749 §4.3). */
@Injectable()
export class LocalStrategy extends PassportStrategy(Strategy, 'local') {
  constructor(private readonly users: UsersService) {
    super({
      usernameField: 'username',
      passwordField: 'password',
      session: false,
    });
  }

  validate(username: string, password: string): Promise<User | null> {
    return this.users.verifyCredentials(username, password);
  }
}
