import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsInt,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { UserDto } from './user.dto.js';

export class ListUsersQueryDto {
  /** @example 1 */
  // The plugin reads `= 1` as required; the query may omit it.
  @ApiPropertyOptional()
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  page: number = 1;

  /** @example 20 */
  @ApiPropertyOptional()
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 20;

  /**
   * Users whose username contains this text (case-insensitive).
   * @example "ali"
   */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  username?: string;
}

export class UserPageDto {
  items!: UserDto[];
  /** Users matching the filter, across all pages. */
  total!: number;
  page!: number;
  limit!: number;
}
