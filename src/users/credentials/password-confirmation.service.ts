import { Injectable } from '@nestjs/common';
import type { Actor } from '../../access/actor.js';
import { SecurityEvents } from '../../audit/security-events.service.js';
import { LoginBackoff } from './login-backoff.service.js';
import {
  TooManyRequestsException,
  ValidationProblemException,
} from '../../common/http-problem.exception.js';
import { PasswordHasher } from './password-hasher.service.js';
import type { User } from '../user.entity.js';

/** What the current password was asked for, as the audit log names it. */
export type ConfirmedOperation = 'password_change' | 'rename' | 'deletion';

/**
 * The current password, asked again before a change that would hand the
 * account to whoever holds a stolen `profile` token: a new password, a new
 * username, the account's deletion. Each check is an attempt on the
 * username's login back-off, the one the password grant counts against, so
 * a token is no way around it to guess the password; a wrong password is
 * written to the audit log as `password.confirmation_failed`.
 */
@Injectable()
export class PasswordConfirmation {
  constructor(
    private readonly hasher: PasswordHasher,
    private readonly backoff: LoginBackoff,
    private readonly events: SecurityEvents,
  ) {}

  /** Resolves when `currentPassword` is the user's password; otherwise throws the 400 or 429 to answer. */
  async confirm(
    user: User,
    currentPassword: string,
    operation: ConfirmedOperation,
    actor: Actor,
  ): Promise<void> {
    // Before bcrypt, as at the token endpoint: a username that must wait costs the server nothing.
    const waitMs = await this.backoff.startAttempt(user.username);
    if (waitMs !== undefined) {
      await this.failed(user, operation, 'too_many_attempts', actor);
      throw new TooManyRequestsException(
        'Too many failed password attempts for this username.',
        waitMs,
      );
    }
    if (!(await this.hasher.verify(currentPassword, user.passwordHash))) {
      await this.failed(user, operation, 'wrong_password', actor);
      throw new ValidationProblemException([
        {
          field: 'currentPassword',
          message: 'currentPassword is not the current password',
        },
      ]);
    }
    await this.backoff.succeeded(user.username);
  }

  private failed(
    user: User,
    operation: ConfirmedOperation,
    reason: 'wrong_password' | 'too_many_attempts',
    actor: Actor,
  ): Promise<void> {
    return this.events.record(
      {
        type: 'password.confirmation_failed',
        user,
        details: { operation, reason },
      },
      actor,
    );
  }
}
