import type { DynamicModule } from '@nestjs/common';
import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { DestinationStream } from 'pino';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule } from './oauth/auth.module.js';
import { HttpErrorFilter } from './http/http-error.filter.js';
import { createValidationPipe } from './common/validation.js';
import { databaseOptions } from './database/database.options.js';
import { entities } from './entities.js';
import { AppDataSource } from './database/app-data-source.js';
import type { AppConfig } from './config/env.js';
import { validateEnv } from './config/env.js';
import { ClientsModule } from './clients/clients.module.js';
import { ResourceServersModule } from './resource-servers/resource-servers.module.js';
import { HealthModule } from './health/health.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { RedisModule } from './redis/redis.module.js';
import { loggingModule } from './logging/logging.module.js';
import { RateLimitingModule } from './rate-limiting/rate-limiting.module.js';
import { SessionsModule } from './sessions/sessions.module.js';
import { UsersModule } from './users/users.module.js';

@Module({})
export class AppModule {
  /**
   * @param overrides variables that win over the environment: tests use
   * them to give each app its own database and settings.
   * @param logDestination where log lines go instead of stdout (tests read them).
   */
  static async forRoot(
    overrides: Record<string, string> = {},
    logDestination?: DestinationStream,
  ): Promise<DynamicModule> {
    return {
      module: AppModule,
      imports: [
        await ConfigModule.forRoot({
          isGlobal: true,
          cache: true,
          validate: (raw) => validateEnv({ ...raw, ...overrides }),
        }),
        loggingModule(logDestination),
        // Before the feature modules: its guard runs first of the global guards.
        RateLimitingModule,
        TypeOrmModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: ConfigService<AppConfig, true>) => ({
            ...databaseOptions(
              {
                DATABASE_URL: config.get('DATABASE_URL', { infer: true }),
                DATABASE_POOL_SIZE: config.get('DATABASE_POOL_SIZE', {
                  infer: true,
                }),
                DATABASE_CONNECT_TIMEOUT_MS: config.get(
                  'DATABASE_CONNECT_TIMEOUT_MS',
                  { infer: true },
                ),
                DATABASE_STATEMENT_TIMEOUT_MS: config.get(
                  'DATABASE_STATEMENT_TIMEOUT_MS',
                  { infer: true },
                ),
                DATABASE_BUSY_TIMEOUT_MS: config.get(
                  'DATABASE_BUSY_TIMEOUT_MS',
                  { infer: true },
                ),
              },
              entities,
            ),
            // The schema is always the one the migrations build, on every start.
            migrationsRun: true,
          }),
          dataSourceFactory: (options) =>
            new AppDataSource(options!).initialize(),
        }),
        RedisModule,
        UsersModule,
        SessionsModule,
        ClientsModule,
        ResourceServersModule,
        AuthModule,
        AuditModule,
        HealthModule,
        MetricsModule,
      ],
      providers: [
        { provide: APP_FILTER, useClass: HttpErrorFilter },
        { provide: APP_PIPE, useFactory: createValidationPipe },
      ],
    };
  }
}
