import helmet from '@fastify/helmet';
import type { LogLevel } from '@nestjs/common';
import { ConsoleLogger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ModuleRef } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { useContainer } from 'class-validator';
import {
  sendClientError,
  sendError,
  sendFrameworkError,
} from './common/http-error.filter.js';
import { MAX_BODY_DEPTH, nestsDeeperThan } from './common/nesting-depth.js';
import type { AppConfig } from './config/env.js';
import { createOpenApiDocument, setupSwaggerUi } from './swagger.js';

/** Auth requests are small; a large body is an attack or a mistake. */
const BODY_LIMIT_BYTES = 64 * 1024;

export function createHttpAdapter(): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    // Requests are logged by the app's logger, never with their bodies or headers.
    logger: false,
    return503OnClosing: true,
    // Errors before routing are answered in the service's own format too.
    frameworkErrors: sendFrameworkError,
    clientErrorHandler: sendClientError,
  });
}

/** Everything between creating the app and listening, shared with the tests. */
export async function configureApp(app: NestFastifyApplication): Promise<void> {
  const config = app.get<ConfigService<AppConfig, true>>(ConfigService);
  app.useLogger(createLogger(config));
  // Lets class-validator constraints (the password policy) be Nest providers. Through
  // ModuleRef: a miss on the app itself would abort the process, not throw.
  const modules = app.get(ModuleRef);
  useContainer(
    {
      get: <T>(type: new (...args: never[]) => T): T =>
        modules.get<T>(type, { strict: false }),
    },
    { fallbackOnErrors: true },
  );
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // Swagger UI sets styles inline and draws icons from data: URIs.
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
        // TLS is the deployment's; upgrading would break plain-HTTP Swagger UI on a LAN host.
        upgradeInsecureRequests: null,
      },
    },
  });
  const fastify = app.getHttpAdapter().getInstance();
  // Every body here is JSON or a form; Fastify's text/plain parser would hand a DTO a string.
  fastify.removeContentTypeParser('text/plain');
  fastify.addHook('preValidation', async (request, reply) => {
    if (nestsDeeperThan(request.body, MAX_BODY_DEPTH)) {
      const detail = `The body nests deeper than ${MAX_BODY_DEPTH} levels.`;
      sendError(request, reply, {
        status: 400,
        detail,
        headers: {},
        fieldErrors: [{ field: 'body', message: detail }],
      });
      return reply;
    }
  });
  app.enableShutdownHooks();
  setupSwaggerUi(app, await createOpenApiDocument(app));
}

function createLogger(config: ConfigService<AppConfig, true>): ConsoleLogger {
  const level = config.get('LOG_LEVEL', { infer: true });
  const order: LogLevel[] = [
    'fatal',
    'error',
    'warn',
    'log',
    'debug',
    'verbose',
  ];
  const cut = order.indexOf(level === 'info' ? 'log' : level);
  return new ConsoleLogger({
    logLevels: order.slice(0, cut + 1),
    json: config.get('NODE_ENV', { infer: true }) === 'production',
  });
}
