import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { databaseOptions } from '../database/database.options.js';
import { entities } from '../entities.js';
import { Session } from '../sessions/session.entity.js';
import { User } from '../users/user.entity.js';
import { TokenHolderLookup } from './token-holder-lookup.js';

describe('TokenHolderLookup', () => {
  const dataSource = new DataSource({
    ...databaseOptions({ DATABASE_URL: 'sqlite::memory:' }, entities),
    migrationsRun: true,
  });
  let holders: TokenHolderLookup;
  let alice: User;
  let bob: User;
  let aliceSession: Session;

  const newUser = (username: string) =>
    dataSource.getRepository(User).save({
      username,
      passwordHash: '$2b$04$'.padEnd(60, 'x'),
      roles: ['user', 'admin'],
      tokensValidAfter: new Date('2026-01-02T03:04:05.678Z'),
    });

  beforeAll(async () => {
    await dataSource.initialize();
    holders = new TokenHolderLookup(dataSource);
    alice = await newUser('alice');
    bob = await newUser('bob');
    aliceSession = await dataSource.getRepository(Session).save({
      userId: alice.id,
      clientId: 'public',
      scope: 'profile',
      userAgent: null,
      ipAddress: null,
      lastUsedAt: new Date('2026-01-02T03:04:05.678Z'),
      expiresAt: new Date('2026-02-02T03:04:05.678Z'),
      endedAt: new Date('2026-01-03T00:00:00.000Z'),
      endReason: 'logout',
    });
  });

  afterAll(() => dataSource.destroy());

  it('reads the user exactly as findOneBy does, and what the revocation check needs of the session', async () => {
    const { user, session } = await holders.find(alice.id, aliceSession.id);

    expect(user).toBeInstanceOf(User);
    expect(user).toEqual(
      await dataSource.getRepository(User).findOneBy({ id: alice.id }),
    );
    expect(session).toEqual(
      expect.objectContaining({
        id: aliceSession.id,
        userId: alice.id,
        endedAt: new Date('2026-01-03T00:00:00.000Z'),
        expiresAt: new Date('2026-02-02T03:04:05.678Z'),
      }),
    );
  });

  it("names the session's own user, so another user's session does not pass", async () => {
    const { user, session } = await holders.find(bob.id, aliceSession.id);

    expect(user?.id).toBe(bob.id);
    expect(session?.userId).toBe(alice.id);
  });

  it('finds the user without a session for an unknown session id', async () => {
    await expect(holders.find(alice.id, randomUUID())).resolves.toEqual({
      user: expect.objectContaining({ id: alice.id }),
      session: null,
    });
  });

  it('finds nobody for an unknown user', async () => {
    await expect(holders.find(randomUUID(), aliceSession.id)).resolves.toEqual({
      user: null,
      session: null,
    });
  });
});
