import { Controller, Get, NotFoundException, Res } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Registry } from 'prom-client';
import type { AccessPrincipal } from '../auth/access-principal.js';
import { AuthenticationOptional } from '../auth/auth.decorators.js';
import { BearerChallenge } from '../auth/bearer-challenge.js';
import { CurrentPrincipal } from '../auth/current-user.decorator.js';
import { PROTECTED_RESOURCE_METADATA_PATH } from '../auth/discovery.controller.js';
import { ApiProblemResponses } from '../common/api-problem-responses.decorator.js';
import type { AppConfig } from '../config/env.js';
import { MetricsService } from './metrics.service.js';

const SCRAPE_SCOPE = 'metrics:read';

@ApiTags('metrics')
@Controller('metrics')
export class MetricsController {
  private readonly mode: AppConfig['METRICS'];
  private readonly challenge: BearerChallenge;

  constructor(
    private readonly metrics: MetricsService,
    config: ConfigService<AppConfig, true>,
  ) {
    this.mode = config.get('METRICS', { infer: true });
    const issuer = config.get('PUBLIC_URL', { infer: true });
    this.challenge = new BearerChallenge(
      issuer,
      `${issuer}${PROTECTED_RESOURCE_METADATA_PATH}`,
    );
  }

  /** Prometheus metrics (METRICS=open: anyone; METRICS=bearer: a token with metrics:read) */
  // Optional at the guard, decided here: whether a token is needed is configuration.
  @AuthenticationOptional(SCRAPE_SCOPE)
  @Get()
  @ApiProduces(Registry.PROMETHEUS_CONTENT_TYPE)
  @ApiOkResponse({
    description:
      'The Prometheus text exposition format: HTTP requests, logins, tokens issued, refresh-token reuse, process metrics.',
    schema: { type: 'string' },
  })
  @ApiProblemResponses(401, 403, 404)
  async getMetrics(
    @CurrentPrincipal() principal: AccessPrincipal | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    // Off is the default: the route answers as if it did not exist.
    if (this.mode === 'off') throw new NotFoundException('Cannot GET /metrics');
    if (this.mode === 'bearer') {
      if (principal === undefined) throw this.challenge.missingToken();
      if (!principal.scopes.includes(SCRAPE_SCOPE))
        throw this.challenge.insufficientScope([SCRAPE_SCOPE]);
    }
    void reply.type(this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }
}
