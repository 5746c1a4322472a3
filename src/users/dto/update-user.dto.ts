import { PartialType, PickType } from '@nestjs/swagger';
import {
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
} from 'class-validator';
import type { Role } from '../user.entity.js';
import { ROLES } from '../user.entity.js';
import { CreateUserDto } from './create-user.dto.js';

/** What users may change of their own profile. */
export class UpdateProfileDto extends PartialType(
  PickType(CreateUserDto, ['username'] as const),
) {}

/** What an administrator may change of any user. */
export class AdminUpdateUserDto {
  /** False ends every session of the user and refuses their logins. */
  @IsOptional()
  @IsBoolean()
  isActive?: boolean;

  /** @example ["user", "admin"] */
  @IsOptional()
  @IsArray()
  @ArrayUnique()
  @IsIn(ROLES, { each: true })
  roles?: Role[];
}
