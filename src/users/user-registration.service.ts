import type { OnApplicationBootstrap } from '@nestjs/common';
import {
  ConflictException,
  ForbiddenException,
  Injectable,
  Logger,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import type { Actor } from '../access/actor.js';
import { SecurityEvents } from '../audit/security-events.service.js';
import type { AppConfig } from '../config/env.js';
import { inTransaction } from '../database/transaction.js';
import { holdingRole } from './admins.js';
import { PasswordHasher } from './credentials/password-hasher.service.js';
import { PasswordPolicy } from './credentials/password-policy.service.js';
import type { Role } from './user.entity.js';
import { User } from './user.entity.js';
import { normalizeUsername } from './username.js';
import { isUniqueViolation } from '../database/unique-violation.js';
import { usernameTaken } from './username-taken.js';
import { UsersService } from './users.service.js';

/** Who registered an account: its owner, an administrator, or ADMIN_USERNAME at start-up. */
export type RegisteredBy = 'self' | 'admin' | 'configuration';

/** New accounts: by their owner (unless REGISTRATION=closed), by an admin, and the first admin. */
@Injectable()
export class UserRegistration implements OnApplicationBootstrap {
  // The context these lines have always been logged under: log searches and alerts filter on it.
  private readonly logger = new Logger('UsersService');
  private readonly registrationOpen: boolean;

  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly lookup: UsersService,
    private readonly hasher: PasswordHasher,
    private readonly policy: PasswordPolicy,
    private readonly events: SecurityEvents,
    private readonly config: ConfigService<AppConfig, true>,
  ) {
    this.registrationOpen =
      config.get('REGISTRATION', { infer: true }) === 'open';
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
    if (
      await this.users.existsBy({
        roles: holdingRole(this.dataSource, 'admin'),
      })
    )
      return;
    const namesake = await this.lookup.findByUsername(username);
    if (namesake !== null) {
      this.logger.warn(
        `No admin exists, and ADMIN_USERNAME "${namesake.username}" is a user who is not one: ` +
          'it is not promoted. Set ADMIN_USERNAME to a name nobody has to create the first admin.',
      );
      return;
    }
    const violation = await this.policy.violation(password, username);
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

  /**
   * POST /users: anyone may register while REGISTRATION=open; once it is
   * closed, only a caller holding users:write (an administrator) creates
   * accounts. The password must already have passed the PasswordPolicy.
   */
  register(
    username: string,
    password: string,
    { byAdmin, actor }: { byAdmin: boolean; actor: Actor },
  ): Promise<User> {
    if (!this.registrationOpen && !byAdmin) {
      throw new ForbiddenException(
        'Registration is closed: an administrator creates accounts.',
      );
    }
    return this.create(username, password, ['user'], {
      by: byAdmin ? 'admin' : 'self',
      actor,
    });
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
}
