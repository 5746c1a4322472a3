import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import type { Actor } from '../access/actor.js';
import { SecurityEvents } from '../audit/security-events.service.js';
import { ValidationProblemException } from '../common/http-problem.exception.js';
import { inTransaction } from '../database/transaction.js';
import { SessionEnder } from '../sessions/session-ender.service.js';
import { PasswordConfirmation } from './credentials/password-confirmation.service.js';
import { PasswordHasher } from './credentials/password-hasher.service.js';
import { PasswordPolicy } from './credentials/password-policy.service.js';
import { User } from './user.entity.js';
import { UserAdministration } from './user-administration.service.js';
import { normalizeUsername } from './username.js';
import { isUniqueViolation } from '../database/unique-violation.js';
import { usernameTaken } from './username-taken.js';

/**
 * What users change about their own account, each once the current
 * password confirms the owner asks for it: a new name, a new password, the
 * account's deletion.
 */
@Injectable()
export class ProfileChanges {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly hasher: PasswordHasher,
    private readonly confirmation: PasswordConfirmation,
    private readonly policy: PasswordPolicy,
    private readonly administration: UserAdministration,
    private readonly sessions: SessionEnder,
    private readonly events: SecurityEvents,
  ) {}

  /** A new username, once the current password confirms the owner asks for it. */
  async rename(
    user: User,
    username: string,
    currentPassword: string,
    actor: Actor = {},
  ): Promise<User> {
    await this.confirmation.confirm(user, currentPassword, 'rename', actor);
    const normalized = normalizeUsername(username);
    if (normalized === user.username) return user;
    if (await this.users.existsBy({ username: normalized }))
      throw usernameTaken();
    try {
      await inTransaction(this.dataSource, async (manager) => {
        await manager.update(User, { id: user.id }, { username: normalized });
        await this.events.record(
          {
            type: 'user.renamed',
            user: { id: user.id, username: normalized },
            details: { from: user.username, to: normalized },
          },
          actor,
          manager,
        );
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw usernameTaken();
      throw error;
    }
    return this.users.findOneByOrFail({ id: user.id });
  }

  /**
   * Checks the current password, applies the policy to the new one, and
   * ends every session: refresh tokens revoked, access tokens issued before
   * now refused.
   */
  async changePassword(
    user: User,
    currentPassword: string,
    newPassword: string,
    actor: Actor = {},
  ): Promise<void> {
    await this.confirmation.confirm(
      user,
      currentPassword,
      'password_change',
      actor,
    );
    const violation = await this.policy.violation(newPassword, user.username);
    if (violation !== null) {
      throw new ValidationProblemException([
        {
          field: 'newPassword',
          message: violation.replace(/^password/, 'newPassword'),
        },
      ]);
    }
    const passwordHash = await this.hasher.hash(newPassword);
    // One transaction, which a login in flight cannot interleave with (see LoginSessions.start).
    await inTransaction(this.dataSource, async (manager) => {
      await manager.update(
        User,
        { id: user.id },
        { passwordHash, tokensValidAfter: new Date() },
      );
      await this.sessions.endWithin(
        manager,
        { userId: user.id },
        'password_changed',
      );
      await this.events.record(
        { type: 'password.changed', user },
        actor,
        manager,
      );
    });
  }

  /** The owner deletes their account, once the current password confirms it is them. */
  async removeOwnAccount(
    user: User,
    currentPassword: string,
    actor: Actor = {},
  ): Promise<void> {
    await this.confirmation.confirm(user, currentPassword, 'deletion', actor);
    await this.administration.remove(user, actor);
  }
}
