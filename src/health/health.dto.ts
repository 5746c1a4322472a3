import {
  ApiProperty,
  ApiPropertyOptional,
  getSchemaPath,
} from '@nestjs/swagger';

/** One indicator's result; an indicator may add fields of its own. */
export class HealthIndicatorStatusDto {
  /** @example "up" */
  status!: 'up' | 'degraded' | 'down';
  /** Why the indicator is down, when it says. */
  message?: string;
}

const indicators = (
  description: string,
  nullable: boolean,
  status: 'up' | 'down' = 'up',
) =>
  (nullable ? ApiPropertyOptional : ApiProperty)({
    description,
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(HealthIndicatorStatusDto) },
    example: { database: { status } },
    nullable,
  });

/**
 * @nestjs/terminus's HealthCheckResult, documented here rather than by
 * terminus's `@HealthCheck()`: terminus loads `@nestjs/swagger` with
 * `require`, which works under `node` but not under jest's ESM loader, so the
 * document would differ between the service and its tests.
 */
export class HealthCheckResultDto {
  /** @example "ok" */
  status!: 'ok' | 'degraded' | 'error' | 'shutting_down';
  @indicators('The indicators that are up or degraded.', true)
  info?: Record<string, HealthIndicatorStatusDto> | null;
  @indicators('The indicators that are down.', true, 'down')
  error?: Record<string, HealthIndicatorStatusDto> | null;
  @indicators('Every indicator.', false)
  details!: Record<string, HealthIndicatorStatusDto>;
}
