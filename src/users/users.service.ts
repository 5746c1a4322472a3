import type { OnApplicationBootstrap } from '@nestjs/common';
import { ConflictException, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import type { EntityManager } from 'typeorm';
import { DataSource, QueryFailedError, Raw, Repository } from 'typeorm';
import type { Actor } from '../audit/actor.js';
import type {
  LoginFailure,
  SecurityEvent,
} from '../audit/security-events.service.js';
import { SecurityEvents } from '../audit/security-events.service.js';
import { ValidationProblemException } from '../common/http-problem.exception.js';
import { PrimaryKeyLookup } from '../common/primary-key-lookup.js';
import type { AppConfig } from '../config/env.js';
import { containsNul } from '../database/text.js';
import { inTransaction } from '../database/transaction.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { PasswordConfirmation } from './password-confirmation.service.js';
import { PasswordHasher } from './password-hasher.service.js';
import { PasswordPolicy } from './password-policy.service.js';
import type { Role } from './user.entity.js';
import { User } from './user.entity.js';
import { normalizeUsername } from './username.js';

export interface UserPage {
  items: User[];
  total: number;
}

/** A password check: the user, or why there is none (for the audit log, never for the caller). */
export type CredentialCheck =
  | { user: User; failure?: undefined }
  | {
      user: User | null;
      failure: Exclude<
        LoginFailure,
        'superseded' | 'too_many_attempts' | 'scope_not_allowed'
      >;
    };

/** Who registered an account: its owner, an administrator, or ADMIN_USERNAME at start-up. */
export type RegisteredBy = 'self' | 'admin' | 'configuration';

@Injectable()
export class UsersService implements OnApplicationBootstrap {
  private readonly logger = new Logger(UsersService.name);
  /** The bearer guard's lookup, on every request. */
  private readonly byId: PrimaryKeyLookup<User>;

  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly hasher: PasswordHasher,
    private readonly confirmation: PasswordConfirmation,
    private readonly policy: PasswordPolicy,
    private readonly sessions: SessionsService,
    private readonly events: SecurityEvents,
    private readonly config: ConfigService<AppConfig, true>,
  ) {
    this.byId = new PrimaryKeyLookup(dataSource, User);
  }

  /**
   * The first admin, from ADMIN_USERNAME and ADMIN_PASSWORD, when no admin
   * exists yet. An existing user is left alone: the variables seed an
   * empty database, they neither reset a password nor promote whoever
   * registered that name first.
   */
  async onApplicationBootstrap(): Promise<void> {
    const username = this.config.get('ADMIN_USERNAME', { infer: true });
    const password = this.config.get('ADMIN_PASSWORD', { infer: true });
    if (username === undefined || password === undefined) return;
    if (await this.users.existsBy({ roles: this.holdingRole('admin') })) return;
    const namesake = await this.findByUsername(username);
    if (namesake !== null) {
      this.logger.warn(
        `No admin exists, and ADMIN_USERNAME "${namesake.username}" is a user who is not one: ` +
          'it is not promoted. Set ADMIN_USERNAME to a name nobody has to create the first admin.',
      );
      return;
    }
    const violation = this.policy.violation(password, username);
    if (violation !== null) {
      throw new Error(`Invalid configuration:\n  ADMIN_PASSWORD: ${violation}`);
    }
    try {
      await this.create(username, password, ['user', 'admin'], {
        by: 'configuration',
      });
      this.logger.log(
        `No admin existed: created the admin user "${normalizeUsername(username)}" from ADMIN_USERNAME`,
      );
    } catch (error) {
      // Another instance starting at the same moment created it first.
      if (!(error instanceof ConflictException)) throw error;
    }
  }

  /** The password must already have passed the PasswordPolicy. */
  async create(
    username: string,
    password: string,
    roles: Role[] = ['user'],
    { by, actor = {} }: { by: RegisteredBy; actor?: Actor } = { by: 'self' },
  ): Promise<User> {
    const normalized = normalizeUsername(username);
    if (await this.users.existsBy({ username: normalized })) {
      throw usernameTaken();
    }
    const now = new Date();
    const user = this.users.create({
      // Set here, not by the column default: SQLite's datetime('now') keeps whole seconds only,
      // and lists are ordered by creation.
      createdAt: now,
      updatedAt: now,
      username: normalized,
      passwordHash: await this.hasher.hash(password),
      roles,
      isActive: true,
      tokensValidAfter: null,
    });
    try {
      return await inTransaction(this.dataSource, async (manager) => {
        const created = await manager.save(user);
        await this.events.record(
          {
            type: 'user.registered',
            user: created,
            details: { by, roles },
          },
          actor,
          manager,
        );
        return created;
      });
    } catch (error) {
      // Two registrations of one name at once: the unique index decides.
      if (isUniqueViolation(error)) throw usernameTaken();
      throw error;
    }
  }

  findById(id: string): Promise<User | null> {
    return this.byId.find(id);
  }

  /** A page of users, oldest first, optionally those whose name contains `search`. */
  async list(page: number, limit: number, search?: string): Promise<UserPage> {
    // Usernames may contain `_`, a LIKE wildcard: escape it (and `%`, `\\`) for a plain "contains".
    const pattern =
      search === undefined
        ? undefined
        : `%${normalizeUsername(search).replace(/[\\%_]/g, '\\$&')}%`;
    const [items, total] = await this.users.findAndCount({
      where:
        pattern === undefined
          ? {}
          : {
              username: Raw((column) => `${column} LIKE :pattern ESCAPE '\\'`, {
                pattern,
              }),
            },
      order: { createdAt: 'ASC', id: 'ASC' },
      skip: (page - 1) * limit,
      take: limit,
    });
    return { items, total };
  }

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
    const violation = this.policy.violation(newPassword, user.username);
    if (violation !== null) {
      throw new ValidationProblemException([
        {
          field: 'newPassword',
          message: violation.replace(/^password/, 'newPassword'),
        },
      ]);
    }
    const passwordHash = await this.hasher.hash(newPassword);
    // One transaction, which a login in flight cannot interleave with (see SessionsService.start).
    await inTransaction(this.dataSource, async (manager) => {
      await manager.update(
        User,
        { id: user.id },
        { passwordHash, tokensValidAfter: new Date() },
      );
      await this.sessions.endAllForUser(user.id, 'password_changed', manager);
      await this.events.record(
        { type: 'password.changed', user },
        actor,
        manager,
      );
    });
  }

  /**
   * Deactivation ends every session at once; reactivation lets the user log
   * in again. The last active admin can be neither demoted nor deactivated.
   */
  async update(
    user: User,
    changes: { isActive?: boolean; roles?: Role[] },
    actor: Actor = {},
  ): Promise<User> {
    const deactivating = changes.isActive === false && user.isActive;
    const reactivating = changes.isActive === true && !user.isActive;
    const rolesChanged =
      changes.roles !== undefined &&
      [...new Set(changes.roles)].sort().join(' ') !==
        [...user.roles].sort().join(' ');
    const demoting =
      changes.roles !== undefined && !changes.roles.includes('admin');
    await inTransaction(this.dataSource, async (manager) => {
      if (changes.isActive === false || demoting)
        await this.keepAnActiveAdmin(
          manager,
          user,
          demoting ? 'demote' : 'deactivate',
        );
      await manager.update(
        User,
        { id: user.id },
        {
          ...(changes.isActive === undefined
            ? {}
            : { isActive: changes.isActive }),
          ...(changes.roles === undefined ? {} : { roles: changes.roles }),
          ...(deactivating ? { tokensValidAfter: new Date() } : {}),
        },
      );
      if (deactivating)
        await this.sessions.endAllForUser(user.id, 'user_deactivated', manager);
      const record = (event: Omit<SecurityEvent, 'user'>) =>
        this.events.record({ ...event, user }, actor, manager);
      if (deactivating) await record({ type: 'user.deactivated' });
      if (reactivating) await record({ type: 'user.reactivated' });
      if (rolesChanged) {
        await record({
          type: 'user.roles_changed',
          details: { from: user.roles, to: changes.roles! },
        });
      }
    });
    return this.users.findOneByOrFail({ id: user.id });
  }

  /** The owner deletes their account, once the current password confirms it is them. */
  async removeOwnAccount(
    user: User,
    currentPassword: string,
    actor: Actor = {},
  ): Promise<void> {
    await this.confirmation.confirm(user, currentPassword, 'deletion', actor);
    await this.remove(user, actor);
  }

  /**
   * Deletes the user; their sessions and refresh tokens go with them, their
   * audit events stay. The last active admin cannot be deleted.
   */
  async remove(user: User, actor: Actor = {}): Promise<void> {
    await inTransaction(this.dataSource, async (manager) => {
      await this.keepAnActiveAdmin(manager, user, 'delete');
      await manager.delete(User, { id: user.id });
      await this.events.record(
        {
          type: 'user.deleted',
          user,
          details: { by: actor.id === user.id ? 'self' : 'admin' },
        },
        actor,
        manager,
      );
    });
  }

  /**
   * Refuses, with a 409, a change that would take `user` away from the
   * active admins when it is the last one: nobody could then manage users
   * or clients without editing the database. Run inside the transaction
   * that makes the change. On PostgreSQL the active admins' rows stay
   * locked until it ends, so of two admins demoting each other at once the
   * second waits, then counts again without the first's target; SQLite
   * transactions take turns anyway (inTransaction).
   */
  private async keepAnActiveAdmin(
    manager: EntityManager,
    user: User,
    change: 'demote' | 'deactivate' | 'delete',
  ): Promise<void> {
    const admins = await manager.find(User, {
      select: { id: true },
      where: { isActive: true, roles: this.holdingRole('admin') },
      order: { id: 'ASC' },
      ...(this.dataSource.options.type === 'postgres'
        ? { lock: { mode: 'pessimistic_write' as const } }
        : {}),
    });
    if (admins.length === 1 && admins[0].id === user.id) {
      throw new ConflictException(
        `This is the last active admin: it cannot be ${CHANGE_WORDS[change]}. Make another user an admin first.`,
      );
    }
  }

  /** "roles contains `role`", for a `roles` column: text[] on PostgreSQL, comma-joined text on SQLite. */
  private holdingRole(role: Role): ReturnType<typeof Raw> {
    return this.dataSource.options.type === 'postgres'
      ? Raw((column) => `:role = ANY(${column})`, { role })
      : // Commas around both sides: "admin" must not match a role that merely contains it.
        Raw((column) => `(',' || ${column} || ',') LIKE :pattern`, {
          pattern: `%,${role},%`,
        });
  }

  findByUsername(username: string): Promise<User | null> {
    if (containsNul(username)) return Promise.resolve(null);
    return this.users.findOneBy({ username: normalizeUsername(username) });
  }

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
    const user = await this.findByUsername(username);
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
      // then, so SessionsService.start sees the change and refuses the login.
      const { affected } = await this.users.update(
        { id: user.id, passwordHash: user.passwordHash },
        { passwordHash: rehashed },
      );
      if (affected === 1) user.passwordHash = rehashed;
    }
    return { user };
  }
}

const CHANGE_WORDS = {
  demote: 'demoted',
  deactivate: 'deactivated',
  delete: 'deleted',
} as const;

function usernameTaken(): ConflictException {
  return new ConflictException('This username is already taken.');
}

function isUniqueViolation(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const code = (error.driverError as { code?: string } | undefined)?.code;
  // SQLite (better-sqlite3) and PostgreSQL codes for a unique violation.
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505';
}
