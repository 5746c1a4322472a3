import { ConflictException, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { QueryFailedError, Repository } from 'typeorm';
import { PasswordHasher } from './password-hasher.service.js';
import type { Role } from './user.entity.js';
import { User } from './user.entity.js';
import { normalizeUsername } from './username.js';

@Injectable()
export class UsersService {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly hasher: PasswordHasher,
  ) {}

  /** The password must already have passed the PasswordPolicy. */
  async create(
    username: string,
    password: string,
    roles: Role[] = ['user'],
  ): Promise<User> {
    const normalized = normalizeUsername(username);
    if (await this.users.existsBy({ username: normalized })) {
      throw usernameTaken();
    }
    const user = this.users.create({
      username: normalized,
      passwordHash: await this.hasher.hash(password),
      roles,
      isActive: true,
      tokensValidAfter: null,
    });
    try {
      return await this.users.save(user);
    } catch (error) {
      // Two registrations of one name at once: the unique index decides.
      if (isUniqueViolation(error)) throw usernameTaken();
      throw error;
    }
  }

  findById(id: string): Promise<User | null> {
    return this.users.findOneBy({ id });
  }

  findByUsername(username: string): Promise<User | null> {
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
    const user = await this.findByUsername(username);
    if (user === null) {
      await this.hasher.verifyNothing(password);
      return null;
    }
    if (!(await this.hasher.verify(password, user.passwordHash))) return null;
    if (!user.isActive) return null;
    if (this.hasher.needsRehash(user.passwordHash)) {
      user.passwordHash = await this.hasher.hash(password);
      await this.users.update(
        { id: user.id },
        { passwordHash: user.passwordHash },
      );
    }
    return user;
  }
}

function usernameTaken(): ConflictException {
  return new ConflictException('This username is already taken.');
}

function isUniqueViolation(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const code = (error.driverError as { code?: string } | undefined)?.code;
  // SQLite (better-sqlite3) and PostgreSQL codes for a unique violation.
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505';
}
