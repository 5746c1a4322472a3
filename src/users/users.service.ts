import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Raw, Repository } from 'typeorm';
import { PrimaryKeyLookup } from '../common/primary-key-lookup.js';
import { containsNul } from '../database/text.js';
import { User } from './user.entity.js';
import { normalizeUsername } from './username.js';

export interface UserPage {
  items: User[];
  total: number;
}

/** Finding users: the lookups the other features make. */
@Injectable()
export class UsersService {
  /** The bearer guard's lookup, on every request. */
  private readonly byId: PrimaryKeyLookup<User>;

  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    @InjectDataSource() dataSource: DataSource,
  ) {
    this.byId = new PrimaryKeyLookup(dataSource, User);
  }

  findById(id: string): Promise<User | null> {
    return this.byId.find(id);
  }

  findByUsername(username: string): Promise<User | null> {
    if (containsNul(username)) return Promise.resolve(null);
    return this.users.findOneBy({ username: normalizeUsername(username) });
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
}
