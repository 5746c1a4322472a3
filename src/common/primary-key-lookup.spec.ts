import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { databaseOptions } from '../database/database.options.js';
import { entities } from '../entities.js';
import { Session } from '../sessions/session.entity.js';
import { User } from '../users/user.entity.js';
import { PrimaryKeyLookup } from './primary-key-lookup.js';

describe('PrimaryKeyLookup', () => {
  const dataSource = new DataSource({
    ...databaseOptions({ DATABASE_URL: 'sqlite::memory:' }, entities),
    migrationsRun: true,
  });
  let user: User;
  let session: Session;

  beforeAll(async () => {
    await dataSource.initialize();
    user = await dataSource.getRepository(User).save({
      username: 'alice',
      passwordHash: '$2b$04$'.padEnd(60, 'x'),
      roles: ['user', 'admin'],
      isActive: false,
      tokensValidAfter: new Date('2026-01-02T03:04:05.678Z'),
    });
    session = await dataSource.getRepository(Session).save({
      userId: user.id,
      clientId: 'public',
      scope: 'profile',
      userAgent: null,
      ipAddress: '127.0.0.1',
      lastUsedAt: new Date('2026-01-02T03:04:05.678Z'),
      expiresAt: new Date('2026-02-02T03:04:05.678Z'),
      endedAt: null,
      endReason: null,
    });
  });

  afterAll(() => dataSource.destroy());

  it('reads a user exactly as findOneBy does: an entity with its booleans, arrays and dates', async () => {
    const found = await new PrimaryKeyLookup(dataSource, User).find(user.id);

    expect(found).toBeInstanceOf(User);
    expect(found).toEqual(
      await dataSource.getRepository(User).findOneBy({ id: user.id }),
    );
    expect(found?.roles).toEqual(['user', 'admin']);
    expect(found?.isActive).toBe(false);
    expect(found?.tokensValidAfter).toEqual(
      new Date('2026-01-02T03:04:05.678Z'),
    );
  });

  it('reads a session exactly as findOneBy does, nulls included', async () => {
    const found = await new PrimaryKeyLookup(dataSource, Session).find(
      session.id,
    );

    expect(found).toBeInstanceOf(Session);
    expect(found).toEqual(
      await dataSource.getRepository(Session).findOneBy({ id: session.id }),
    );
    expect(found?.endedAt).toBeNull();
  });

  it('finds nothing for an unknown id', async () => {
    await expect(
      new PrimaryKeyLookup(dataSource, User).find(randomUUID()),
    ).resolves.toBeNull();
  });
});
