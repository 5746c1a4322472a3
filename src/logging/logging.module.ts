import type { DynamicModule } from '@nestjs/common';
import { RequestMethod } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
import type { Params } from 'nestjs-pino';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DestinationStream, Level } from 'pino';
import { stdTimeFunctions } from 'pino';
import type { Options } from 'pino-http';
import type { AppConfig } from '../config/env.js';
import { loggableUrl, REDACTED, REDACTED_PATHS } from './redaction.js';

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
 * One pino logger for the app: Nest's own logs, the services' and one line
 * per request, each carrying the request's `reqId` (assigned by Fastify, see
 * createHttpAdapter). JSON lines, except readable lines in development.
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
      const options = httpLoggerOptions(
        config.get('LOG_LEVEL', { infer: true }),
      );
      const stream =
        config.get('NODE_ENV', { infer: true }) === 'development'
          ? await prettyStream(destination)
          : destination;
      return {
        pinoHttp: stream ? [options, stream] : options,
        // nestjs-pino's default, `{/*splat}`, matches no request under
        // @fastify/middie 9.3, which prefixes it with a slash of its own.
        forRoutes: [{ path: '/{*splat}', method: RequestMethod.ALL }],
      };
    },
  });
}

function httpLoggerOptions(logLevel: AppConfig['LOG_LEVEL']): Options {
  return {
    level: PINO_LEVELS[logLevel],
    timestamp: stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: REDACTED },
    // Lines logged while handling a request carry its id, not the whole request again.
    quietReqLogger: true,
    // The request line names the request; headers and bodies are never logged.
    serializers: {
      req: (req: { method?: string; url?: string }) => ({
        method: req.method,
        // A `req` logged by the app's code may be anything.
        url: typeof req.url === 'string' ? loggableUrl(req.url) : undefined,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    customLogLevel: (_req, res, error) =>
      error !== undefined || res.statusCode >= 500 ? 'error' : 'info',
    customSuccessMessage: requestLine,
    customErrorMessage: (req, res) => requestLine(req, res),
  };
}

function requestLine(
  request: IncomingMessage,
  response: ServerResponse,
): string {
  // Nest's middleware may shorten `url`; middie keeps the original.
  const { originalUrl } = request as { originalUrl?: string };
  return `${request.method} ${loggableUrl(originalUrl ?? request.url ?? '')} ${response.statusCode}`;
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
    ignore: 'pid,hostname,context,req,res',
    messageFormat: '{if context}[{context}] {end}{msg}',
  });
}
