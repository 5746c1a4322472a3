import type { DynamicModule } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
import type { Params } from 'nestjs-pino';
import type { DestinationStream, Level, Logger } from 'pino';
import type { Options } from 'pino-http';
import { destination as stdoutStream, pino, stdTimeFunctions } from 'pino';
import type { AppConfig } from '../config/env.js';
import { loggableUrl, REDACTED, REDACTED_PATHS } from './redaction.js';
import { requestLogFields } from './request-context.js';

/** LOG_LEVEL keeps Nest's names; Nest's `verbose` is pino's `trace`. */
const PINO_LEVELS: Record<AppConfig['LOG_LEVEL'], Level> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  info: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/**
 * The logger of the request lines (see logRequests), set with the app's.
 * Process-wide for the same reason as nestjs-pino's root logger.
 */
let requestLines: Logger | undefined;

/** The logger of the request lines, once the logging module has started. */
export function requestLineLogger(): Logger {
  if (requestLines === undefined) {
    throw new Error('The logging module has not started yet');
  }
  return requestLines;
}

/**
 * One pino logger for the app: Nest's own logs and the services', each
 * carrying the request's `reqId` when logged while handling one (assigned
 * by Fastify, see createHttpAdapter); and, beside it on the same stream, the
 * request lines. JSON lines, except readable lines in development.
 *
 * nestjs-pino is kept for the app's logger (Nest's LoggerService contract,
 * the `context` field, request-scoped loggers) but not its HTTP middleware:
 * that ran pino-http through @fastify/middie on every request, with two
 * child loggers and the wildcard redaction on each line. Fastify's own
 * hooks write the request line instead (logRequests).
 *
 * @param destination where the lines go instead of stdout (tests read them),
 * formatted as NODE_ENV says.
 * nestjs-pino builds its logger once per process: the first app's settings
 * serve every app created after it.
 */
export function loggingModule(destination?: DestinationStream): DynamicModule {
  return LoggerModule.forRootAsync({
    inject: [ConfigService],
    useFactory: async (
      config: ConfigService<AppConfig, true>,
    ): Promise<Params> => {
      const stream =
        config.get('NODE_ENV', { infer: true }) === 'development'
          ? await prettyStream(destination)
          : (destination ?? stdoutStream({ dest: 1, sync: false }));
      const level = PINO_LEVELS[config.get('LOG_LEVEL', { infer: true })];
      requestLines ??= pino(
        { level, timestamp: stdTimeFunctions.isoTime },
        stream,
      );
      return {
        pinoHttp: [appLoggerOptions(level), stream],
        // No HTTP middleware: logRequests does its work from Fastify's hooks.
        forRoutes: [],
      };
    },
  });
}

function appLoggerOptions(level: Level): Options {
  return {
    level,
    timestamp: stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: REDACTED },
    // The request's id on what the app logs while handling one (logRequests).
    mixin: requestLogFields,
    // A `req` or `res` logged by the app's code may be anything: only its name is kept.
    serializers: {
      req: (req: { method?: string; url?: string }) => ({
        method: req.method,
        url: typeof req.url === 'string' ? loggableUrl(req.url) : undefined,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  };
}

/**
 * pino-pretty, loaded only in development. It runs in-process, not as a
 * transport: a transport's worker thread can keep the process alive or lose
 * the last lines at exit, and a developer's machine needs no throughput.
 */
async function prettyStream(
  destination?: DestinationStream,
): Promise<DestinationStream> {
  const { default: pretty } = await import('pino-pretty');
  return pretty({
    destination: destination ?? 1,
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    singleLine: true,
    // The message names the request already; the route repeats it.
    ignore: 'pid,hostname,context,req,res,route',
    messageFormat: '{if context}[{context}] {end}{msg}',
  });
}
