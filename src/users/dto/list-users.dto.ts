import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsInt,
  IsOptional,
  IsString,
  Matches,
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
  // SQLite's LIKE stops at a NUL: "root\0…" would match "root".
  // The C0 and C1 controls spelled out: \p{Cc} is not in every language's regex.
  // eslint-disable-next-line no-control-regex
  @Matches(/^[^\u0000-\u001f\u007f-\u009f]*$/, {
    message: 'username must not contain control characters',
  })
  username?: string;
}

export class UserPageDto {
  items!: UserDto[];
  /** Users matching the filter, across all pages. */
  total!: number;
  page!: number;
  limit!: number;
}
