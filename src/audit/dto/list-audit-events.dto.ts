import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsIn,
  IsInt,
  IsISO8601,
  IsOptional,
  IsUUID,
  Max,
  Min,
} from 'class-validator';
import type { AuditEventType } from '../audit-event.entity.js';
import { AUDIT_EVENT_TYPES } from '../audit-event.entity.js';

export class ListAuditEventsQueryDto {
  /** @example 1 */
  @ApiPropertyOptional()
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  page: number = 1;

  /** @example 50 */
  @ApiPropertyOptional()
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 50;

  /**
   * Only events about this user (deleted users included).
   * @example "7f0c1f7e-3b5a-4d0e-9a55-2f6f4c1d9b0e"
   */
  @IsOptional()
  @IsUUID()
  userId?: string;

  /** Only events of these types: repeat the parameter (`type=a&type=b`) or separate them by commas. */
  @ApiPropertyOptional({
    enum: AUDIT_EVENT_TYPES,
    isArray: true,
    example: ['login.failed'],
  })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => listOf(value))
  @ArrayMaxSize(AUDIT_EVENT_TYPES.length)
  @IsIn(AUDIT_EVENT_TYPES, { each: true })
  type?: AuditEventType[];

  /**
   * Only events at or after this instant (ISO 8601).
   * @example "2026-11-01T00:00:00Z"
   */
  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @IsISO8601({ strict: true })
  since?: string;

  /**
   * Only events at or before this instant (ISO 8601).
   * @example "2026-11-30T23:59:59Z"
   */
  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @IsISO8601({ strict: true })
  until?: string;
}

/** `type=a&type=b` arrives as an array, `type=a,b` and `type=a` as a string. */
function listOf(value: unknown): unknown[] {
  const items: unknown[] = Array.isArray(value) ? value : [value];
  return items.flatMap((item): unknown[] =>
    typeof item === 'string' ? item.split(',') : [item],
  );
}
