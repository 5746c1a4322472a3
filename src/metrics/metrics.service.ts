import type { OnModuleInit } from '@nestjs/common';
import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
} from 'prom-client';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../config/env.js';
import {
  DEPENDENCIES,
  dependencyFailureOf,
} from '../logging/dependency-failure.js';
import { REDIS_CLIENT } from '../redis/redis.module.js';

/** How a password-grant login ended, as the `outcome` label says it. */
const LOGIN_OUTCOMES = [
  'success',
  'invalid_credentials',
  'inactive_account',
  'superseded',
  'too_many_attempts',
  'scope_not_allowed',
  'grant_disabled',
] as const;
export type LoginOutcome = (typeof LOGIN_OUTCOMES)[number];

const GRANT_TYPES = [
  'password',
  'refresh_token',
  'client_credentials',
  'token_exchange',
  'authorization_code',
  'device_code',
] as const;
export type IssuedGrantType = (typeof GRANT_TYPES)[number];

/** The route label of requests that matched no route, so probes of random paths add no series. */
const UNMATCHED_ROUTE = 'unmatched';

/**
 * The Prometheus registry of one app. Not prom-client's global registry:
 * two apps in one process (the tests) would register the same names twice.
 * Security counters are moved only by SecurityEvents, where the audit log
 * records the same facts.
 */
@Injectable()
export class MetricsService implements OnModuleInit {
  readonly registry = new Registry();
  readonly enabled: boolean;

  private readonly httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  private readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from receiving a request to sending its answer, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    // bcrypt makes logins take a few hundred milliseconds; the rest answer in a few.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  private readonly logins = new Counter({
    name: 'auth_logins_total',
    help: 'Password-grant logins, by outcome.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly tokensIssued = new Counter({
    name: 'auth_tokens_issued_total',
    help: 'Access tokens issued, by grant type.',
    labelNames: ['grant_type'] as const,
    registers: [this.registry],
  });

  private readonly passwordGrants = new Counter({
    name: 'auth_password_grants_total',
    help: 'Password-grant requests, by client and outcome: who still uses the grant RFC 9700 retires (PASSWORD_GRANT).',
    labelNames: ['client_id', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly refreshTokenReuse = new Counter({
    name: 'auth_refresh_token_reuse_total',
    help: 'Spent refresh tokens presented again; each ended its session.',
    registers: [this.registry],
  });

  private readonly dependencyFailures = new Counter({
    name: 'dependency_failures_total',
    help: 'Requests answered 503 because a dependency failed, by dependency.',
    labelNames: ['dependency'] as const,
    registers: [this.registry],
  });

  constructor(
    config: ConfigService<AppConfig, true>,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(REDIS_CLIENT) redis: Redis | null,
  ) {
    this.enabled = config.get('METRICS', { infer: true }) !== 'off';
    if (redis !== null) {
      new Gauge({
        name: 'redis_up',
        help: 'Whether the shared Redis is connected (1), or rate limits and the login back-off are counted per instance (0).',
        registers: [this.registry],
        collect() {
          this.set(redis.status === 'ready' ? 1 : 0);
        },
      });
    }
    // Every series exists from the start, at 0, so rate() and alerts see the first event.
    for (const outcome of LOGIN_OUTCOMES) this.logins.inc({ outcome }, 0);
    for (const grantType of GRANT_TYPES)
      this.tokensIssued.inc({ grant_type: grantType }, 0);
    for (const dependency of DEPENDENCIES)
      this.dependencyFailures.inc({ dependency }, 0);
    // Process metrics start timers and observers: only for an app that shows them.
    if (this.enabled) collectDefaultMetrics({ register: this.registry });
  }

  /** Times every request, once it has been answered (routes are known by then). */
  onModuleInit(): void {
    // A command (keys:rotate) has no HTTP server to observe.
    const fastify =
      this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (fastify === undefined || !this.enabled) return;
    fastify.addHook('onResponse', (request, reply, done) => {
      const labels = {
        method: request.method,
        route: routeLabel(request.routeOptions.url),
        status: String(reply.statusCode),
      };
      this.httpRequests.inc(labels);
      this.httpDuration.observe(labels, reply.elapsedTime / 1000);
      const failure = dependencyFailureOf(request);
      if (failure !== undefined)
        this.dependencyFailures.inc({ dependency: failure.dependency });
      done();
    });
  }

  countLogin(outcome: LoginOutcome): void {
    this.logins.inc({ outcome });
  }

  /** One series per registered client at most: the id is authenticated before this counts. */
  countPasswordGrant(clientId: string, outcome: 'granted' | 'refused'): void {
    this.passwordGrants.inc({ client_id: clientId, outcome });
  }

  countTokenIssued(grantType: IssuedGrantType): void {
    this.tokensIssued.inc({ grant_type: grantType });
  }

  countRefreshTokenReuse(): void {
    this.refreshTokenReuse.inc();
  }
}

/** `/users/:id` as OpenAPI writes it, `/users/{id}`; never the raw URL, whose ids are unbounded. */
function routeLabel(pattern: string | undefined): string {
  if (pattern === undefined) return UNMATCHED_ROUTE;
  return pattern.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}
