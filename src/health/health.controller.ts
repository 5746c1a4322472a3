import { applyDecorators, Controller, Get } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { HealthCheckResult } from '@nestjs/terminus';
import {
  HealthCheck,
  HealthCheckService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { Public } from '../access/auth.decorators.js';
import { ApiProblemResponses } from '../common/api-problem-responses.decorator.js';
import { RedisHealthIndicator } from '../redis/redis.health.js';
import {
  HealthCheckResultDto,
  HealthIndicatorStatusDto,
} from './health.dto.js';

/**
 * Terminus's decorator without its Swagger half (see HealthCheckResultDto).
 * A failed check throws, and the global filter answers RFC 9457 problem details.
 */
const Probe = () =>
  applyDecorators(
    HealthCheck({ noCache: true, swaggerDocumentation: false }),
    ApiOkResponse({
      type: HealthCheckResultDto,
      description:
        'The service can serve: every check is up, or a degraded one (status `degraded`) names what is impaired.',
    }),
    ApiProblemResponses(503),
  );

@ApiTags('health')
@ApiExtraModels(HealthIndicatorStatusDto)
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly redis: RedisHealthIndicator,
  ) {}

  /** Liveness: the process answers */
  @Get('live')
  @Probe()
  checkLiveness(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  /** Readiness: the database answers (Redis, when REDIS_URL is set, is reported: degraded, not down) */
  @Get('ready')
  @Probe()
  checkReadiness(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.database.pingCheck('database', { timeout: 1_000 }),
      ...(this.redis.configured ? [() => this.redis.pingCheck('redis')] : []),
    ]);
  }
}
