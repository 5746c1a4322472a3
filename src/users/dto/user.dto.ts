import type { Role, User } from '../user.entity.js';

/**
 * The user resource, everywhere it is returned. Built field by field from
 * the entity, so a column added to `User` (a hash, a secret) never reaches a
 * response unless it is named here.
 */
export class UserDto {
  /** @example "7f0c1f7e-3b5a-4d0e-9a55-2f6f4c1d9b0e" */
  id!: string;
  /** @example "alice" */
  username!: string;
  isActive!: boolean;
  /** @example ["user"] */
  roles!: Role[];
  createdAt!: Date;
  updatedAt!: Date;

  static from(user: User): UserDto {
    const dto = new UserDto();
    dto.id = user.id;
    dto.username = user.username;
    dto.isActive = user.isActive;
    dto.roles = [...user.roles];
    dto.createdAt = user.createdAt;
    dto.updatedAt = user.updatedAt;
    return dto;
  }
}
