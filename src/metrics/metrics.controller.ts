import { Controller, Get, NotFoundException, Res } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Registry } from 'prom-client';
import { AuthenticatedWhen } from '../access/auth.decorators.js';
import { ApiProblemResponses } from '../common/api-problem-responses.decorator.js';
import type { AppConfig } from '../config/env.js';
import { MetricsService } from './metrics.service.js';

@ApiTags('metrics')
@Controller('metrics')
export class MetricsController {
  private readonly mode: AppConfig['METRICS'];

  constructor(
    private readonly metrics: MetricsService,
    config: ConfigService<AppConfig, true>,
  ) {
    this.mode = config.get('METRICS', { infer: true });
  }

  /** Prometheus metrics (METRICS=open: anyone; METRICS=bearer: a token with metrics:read) */
  @AuthenticatedWhen(
    (config) => config.get('METRICS', { infer: true }) === 'bearer',
    'metrics:read',
  )
  @Get()
  @ApiProduces(Registry.PROMETHEUS_CONTENT_TYPE)
  @ApiOkResponse({
    description:
      'The Prometheus text exposition format: HTTP requests, logins, tokens issued, refresh-token reuse, process metrics.',
    schema: { type: 'string' },
  })
  @ApiProblemResponses(401, 403, 404)
  async getMetrics(
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    // Off is the default: the route answers as if it did not exist.
    if (this.mode === 'off') throw new NotFoundException('Cannot GET /metrics');
    void reply.type(this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }
}
