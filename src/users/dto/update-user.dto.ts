import {
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsString,
  ValidateIf,
} from 'class-validator';
import { IsOmittable } from '../../common/validation.js';
import type { Role } from '../user.entity.js';
import { ROLES } from '../user.entity.js';
import { IsUsername } from '../username.js';

/** What users may change of their own profile. */
export class UpdateProfileDto {
  /**
   * 3–64 letters, digits or `. _ - @ +`; case-insensitive.
   * @example "alice.smith"
   */
  @IsOmittable()
  @IsUsername()
  username?: string;

  /**
   * Required with `username`: a new name is a new login, so a token alone
   * is not enough to change it.
   * @example "correct horse battery staple"
   */
  @ValidateIf((profile: UpdateProfileDto) => profile.username !== undefined)
  @IsString({
    message: ({ value }) =>
      value === undefined
        ? 'currentPassword is required to change the username'
        : 'currentPassword must be a string',
  })
  currentPassword?: string;
}

/** What an administrator may change of any user. */
export class AdminUpdateUserDto {
  /** False ends every session of the user and refuses their logins. */
  @IsOmittable()
  @IsBoolean()
  isActive?: boolean;

  /** @example ["user", "admin"] */
  @IsOmittable()
  @IsArray()
  @ArrayUnique()
  @IsIn(ROLES, { each: true })
  roles?: Role[];
}
