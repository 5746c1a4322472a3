import { ConflictException } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { Raw } from 'typeorm';
import type { Role } from './user.entity.js';
import { User } from './user.entity.js';

/** "roles contains `role`", for a `roles` column: text[] on PostgreSQL, comma-joined text on SQLite. */
export function holdingRole(
  dataSource: DataSource,
  role: Role,
): ReturnType<typeof Raw> {
  return dataSource.options.type === 'postgres'
    ? Raw((column) => `:role = ANY(${column})`, { role })
    : // Commas around both sides: "admin" must not match a role that merely contains it.
      Raw((column) => `(',' || ${column} || ',') LIKE :pattern`, {
        pattern: `%,${role},%`,
      });
}

/** What would take a user away from the active admins. */
export type AdminLoss = 'demote' | 'deactivate' | 'delete';

const CHANGE_WORDS = {
  demote: 'demoted',
  deactivate: 'deactivated',
  delete: 'deleted',
} as const;

/**
 * Refuses, with a 409, a change that would take `user` away from the
 * active admins when it is the last one: nobody could then manage users
 * or clients without editing the database. Run inside the transaction
 * that makes the change. On PostgreSQL the active admins' rows stay
 * locked until it ends, so of two admins demoting each other at once the
 * second waits, then counts again without the first's target; SQLite
 * transactions take turns anyway (inTransaction).
 */
export async function keepAnActiveAdmin(
  dataSource: DataSource,
  manager: EntityManager,
  user: User,
  change: AdminLoss,
): Promise<void> {
  const admins = await manager.find(User, {
    select: { id: true },
    where: { isActive: true, roles: holdingRole(dataSource, 'admin') },
    order: { id: 'ASC' },
    ...(dataSource.options.type === 'postgres'
      ? { lock: { mode: 'pessimistic_write' as const } }
      : {}),
  });
  if (admins.length === 1 && admins[0].id === user.id) {
    throw new ConflictException(
      `This is the last active admin: it cannot be ${CHANGE_WORDS[change]}. Make another user an admin first.`,
    );
  }
}
