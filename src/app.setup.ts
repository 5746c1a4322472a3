import cookie from '@fastify/cookie';
import { ConfigService } from '@nestjs/config';
import { ModuleRef } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { OpenAPIObject } from '@nestjs/swagger';
import { useContainer } from 'class-validator';
import { Logger } from 'nestjs-pino';
import { requestLineLogger } from './logging/logging.module.js';
import { logRequests } from './logging/request-log.js';
import { sendSecurityHeaders } from './http/security-headers.js';
import { REQUEST_ID_HEADER, requestIdOf } from './logging/request-id.js';
import {
  sendClientError,
  sendError,
  sendFrameworkError,
} from './http/http-error.filter.js';
import { MAX_BODY_DEPTH, nestsDeeperThan } from './common/nesting-depth.js';
import type { AppConfig } from './config/env.js';
import type { ProxyTrust } from './config/trust-proxy.js';
import { proxyTrustOf } from './config/trust-proxy.js';
import { createOpenApiDocument, setupSwaggerUi } from './swagger.js';

/** Auth requests are small; a large body is an attack or a mistake. */
const BODY_LIMIT_BYTES = 64 * 1024;

declare module 'fastify' {
  interface FastifyInstance {
    /** Sets whose X-Forwarded-For names the client (TRUST_PROXY). */
    trustProxies(trust: ProxyTrust): void;
  }
}

export function createHttpAdapter(): FastifyAdapter {
  // Fastify takes `trustProxy` when it is created, before the configuration
  // is loaded; until configureApp sets TRUST_PROXY, nobody is trusted.
  let trustsProxy: ProxyTrust = () => false;
  const adapter = new FastifyAdapter({
    trustProxy: (address, hop) => trustsProxy(address, hop),
    bodyLimit: BODY_LIMIT_BYTES,
    // Requests are logged by the app's logger (src/logging), never with their bodies or headers.
    logger: false,
    return503OnClosing: true,
    // Fastify names each request before anything else runs; the logger reads this id.
    requestIdHeader: false,
    genReqId: requestIdOf,
    // Errors before routing are answered in the service's own format too.
    frameworkErrors: sendFrameworkError,
    clientErrorHandler: sendClientError,
  });
  adapter.getInstance().decorate('trustProxies', (trust: ProxyTrust) => {
    trustsProxy = trust;
  });
  // Set first, so every response carries it: errors, 404s and Fastify's own 413 and 415 too.
  adapter.getInstance().addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
  closeKeptAliveConnectionsOnShutdown(adapter.getInstance());
  return adapter;
}

/**
 * Everything between creating the app and listening, shared with the tests,
 * which may pass the OpenAPI document they built for an earlier app of the
 * same configuration: building it is a good part of each test app's start.
 */
export async function configureApp(
  app: NestFastifyApplication,
  {
    openApiDocument = createOpenApiDocument,
  }: {
    openApiDocument?: (app: NestFastifyApplication) => Promise<OpenAPIObject>;
  } = {},
): Promise<void> {
  app.useLogger(app.get(Logger));
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
  const fastify = app.getHttpAdapter().getInstance();
  logRequests(fastify, requestLineLogger());
  sendSecurityHeaders(fastify);
  // The device cookie of the password grant (LoginDevices).
  await app.register(cookie);
  const config = app.get<ConfigService<AppConfig, true>>(ConfigService);
  fastify.trustProxies(
    proxyTrustOf(config.get('TRUST_PROXY', { infer: true })),
  );
  // Every body here is JSON or a form; Fastify's text/plain parser would hand a DTO a string.
  fastify.removeContentTypeParser('text/plain');
  // A callback hook, not an async one: it runs on every request, and most have no body.
  fastify.addHook('preValidation', (request, reply, done) => {
    if (!nestsDeeperThan(request.body, MAX_BODY_DEPTH)) return done();
    const detail = `The body nests deeper than ${MAX_BODY_DEPTH} levels.`;
    // Answered here: Fastify skips the route once a hook has sent the reply.
    sendError(request, reply, {
      status: 400,
      detail,
      headers: {},
      fieldErrors: [{ field: 'body', message: detail }],
    });
  });
  app.enableShutdownHooks();
  setupSwaggerUi(app, await openApiDocument(app));
}

/**
 * A graceful shutdown ends once every connection is closed. Fastify closes
 * the idle keep-alive connections when it starts closing, and answers new
 * requests 503 (return503OnClosing), but a connection busy at that moment
 * stays open after its answer, idle, until its client or the keep-alive
 * timeout (72 s) ends it: measured, a SIGTERM with logins in flight left
 * the process running until the orchestrator's SIGKILL. Each answer sent
 * once the shutdown began therefore closes its connection.
 */
function closeKeptAliveConnectionsOnShutdown(fastify: FastifyInstance): void {
  let closing = false;
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });
}
