import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import type { Actor } from '../access/actor.js';
import type { SecurityEvent } from '../audit/security-events.service.js';
import { SecurityEvents } from '../audit/security-events.service.js';
import { inTransaction } from '../database/transaction.js';
import { SessionEnder } from '../sessions/session-ender.service.js';
import { keepAnActiveAdmin } from './admins.js';
import type { Role } from './user.entity.js';
import { User } from './user.entity.js';

/**
 * What administrators change about any account: whether it is active,
 * its roles, its existence. The last active admin always stays one.
 */
@Injectable()
export class UserAdministration {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly sessions: SessionEnder,
    private readonly events: SecurityEvents,
  ) {}

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
        await keepAnActiveAdmin(
          this.dataSource,
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
        await this.sessions.endWithin(
          manager,
          { userId: user.id },
          'user_deactivated',
        );
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

  /**
   * Deletes the user; their sessions and refresh tokens go with them, their
   * audit events stay. The last active admin cannot be deleted.
   */
  async remove(user: User, actor: Actor = {}): Promise<void> {
    await inTransaction(this.dataSource, async (manager) => {
      await keepAnActiveAdmin(this.dataSource, manager, user, 'delete');
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
}
