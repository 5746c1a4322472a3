import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Actor } from '../access/actor.js';
import { inTransaction, shareLock } from '../database/transaction.js';
import type {
  IssuedRefreshToken,
  SessionBinding,
  SessionGrant,
} from '../sessions/session-starter.service.js';
import { SessionStarter } from '../sessions/session-starter.service.js';
import { User } from './user.entity.js';

/** A login's session, started only for the user whose password was checked, as they still are. */
@Injectable()
export class LoginSessions {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly starter: SessionStarter,
  ) {}

  /**
   * A new session and its first refresh token for `checked`, the user as
   * read before bcrypt ran; null when the user changed their password or
   * was deactivated since.
   */
  start(
    checked: User,
    clientId: string,
    grant: SessionGrant,
    context: Actor,
    binding?: SessionBinding,
  ): Promise<IssuedRefreshToken | null> {
    return inTransaction(this.dataSource, async (manager) => {
      // A password change or deactivation since the check ended every session: this login must
      // not start a new one behind it. The row is share-locked so that such a change waits for
      // this transaction, and the session lands in the same one as the check.
      const current = await manager.findOne(User, {
        where: { id: checked.id },
        ...shareLock(this.dataSource),
      });
      if (
        current?.isActive !== true ||
        current.passwordHash !== checked.passwordHash
      )
        return null;
      return this.starter.start(
        current,
        clientId,
        grant,
        context,
        manager,
        binding,
      );
    });
  }
}
