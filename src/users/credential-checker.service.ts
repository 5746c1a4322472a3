import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import type { LoginFailure } from '../audit/security-events.service.js';
import { PasswordHasher } from './credentials/password-hasher.service.js';
import { User } from './user.entity.js';
import { UsersService } from './users.service.js';

/** A password check: the user, or why there is none (for the audit log, never for the caller). */
export type CredentialCheck =
  | { user: User; failure?: undefined }
  | {
      user: User | null;
      failure: Exclude<
        LoginFailure,
        | 'superseded'
        | 'too_many_attempts'
        | 'scope_not_allowed'
        | 'grant_disabled'
      >;
    };

/** The password grant's question: whose credentials are these? */
@Injectable()
export class CredentialChecker {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly lookup: UsersService,
    private readonly hasher: PasswordHasher,
  ) {}

  /**
   * The user these credentials belong to, or null. Unknown, wrong and
   * inactive all cost one bcrypt comparison and answer alike, so neither
   * the answer nor its timing tells which usernames exist.
   */
  async verifyCredentials(
    username: string,
    password: string,
  ): Promise<User | null> {
    const check = await this.checkCredentials(username, password);
    return check.failure === undefined ? check.user : null;
  }

  /** verifyCredentials, telling why a check failed. */
  async checkCredentials(
    username: string,
    password: string,
  ): Promise<CredentialCheck> {
    const user = await this.lookup.findByUsername(username);
    if (user === null) {
      await this.hasher.verifyNothing(password);
      return { user: null, failure: 'unknown_user' };
    }
    if (!(await this.hasher.verify(password, user.passwordHash)))
      return { user, failure: 'wrong_password' };
    if (!user.isActive) return { user, failure: 'inactive_account' };
    if (this.hasher.needsRehash(user.passwordHash)) {
      const rehashed = await this.hasher.hash(password);
      // Compare-and-set on the hash just verified: a password change that
      // landed while bcrypt ran must stand. The user keeps the old hash
      // then, so LoginSessions.start sees the change and refuses the login.
      const { affected } = await this.users.update(
        { id: user.id, passwordHash: user.passwordHash },
        { passwordHash: rehashed },
      );
      if (affected === 1) user.passwordHash = rehashed;
    }
    return { user };
  }
}
