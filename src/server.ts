import 'reflect-metadata';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { configureApp, createHttpAdapter } from './app.setup.js';
import type { AppConfig } from './config/env.js';
import { committedOpenApiDocument } from './swagger.js';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(
    await AppModule.forRoot(),
    createHttpAdapter(),
    { bufferLogs: true },
  );
  const config = app.get<ConfigService<AppConfig, true>>(ConfigService);
  await configureApp(
    app,
    // In development the document follows the code as it is edited.
    config.get('NODE_ENV', { infer: true }) === 'production'
      ? { openApiDocument: committedOpenApiDocument }
      : {},
  );
  await app.listen({
    port: config.get('PORT', { infer: true }),
    host: config.get('HOST', { infer: true }),
  });
}

bootstrap().catch((error: unknown) => {
  // A bad variable is the operator's to fix: the message names it; a stack would bury it.
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
