import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { EntityManager } from 'typeorm';
import { DataSource, IsNull } from 'typeorm';
import type { Actor } from '../access/actor.js';
import { SecurityEvents } from '../audit/security-events.service.js';
import { inTransaction } from '../database/transaction.js';
import type { SessionEndReason } from './session.entity.js';
import { Session } from './session.entity.js';
import type { SessionOwner } from './session-owner.js';

/**
 * Ending sessions: the family's refresh tokens stop working at once, and
 * the bearer guard refuses its access tokens from the next request on.
 */
@Injectable()
export class SessionEnder {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly events: SecurityEvents,
  ) {}

  /**
   * Ends one session of `owner`, if it is live, and says so in the audit
   * log; false when the owner has no such live session.
   */
  end(
    owner: SessionOwner,
    sessionId: string,
    reason: SessionEndReason,
    actor: Actor = {},
  ): Promise<boolean> {
    return inTransaction(this.dataSource, async (manager) => {
      const session = await manager.findOneBy(Session, {
        id: sessionId,
        userId: owner.id,
        endedAt: IsNull(),
      });
      if (session === null) return false;
      await this.endWithin(manager, { id: session.id }, reason);
      await this.events.record(
        {
          type: 'session.ended',
          user: owner,
          clientId: session.clientId,
          details: { sessionId: session.id, reason },
        },
        actor,
        manager,
      );
      return true;
    });
  }

  /**
   * Ends, in the caller's transaction, the live sessions these conditions
   * find (one session, a user's, a client's), without an audit row of its
   * own: the change that causes it records its event (a password change, a
   * deactivation, a client's deletion, a reused refresh token), and both
   * land together or not at all. An ended session keeps its first end.
   */
  async endWithin(
    manager: EntityManager,
    where: { id: string } | { userId: string } | { clientId: string },
    reason: SessionEndReason,
  ): Promise<void> {
    await manager.update(
      Session,
      { ...where, endedAt: IsNull() },
      { endedAt: new Date(), endReason: reason },
    );
  }
}
