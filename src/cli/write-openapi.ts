import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { stringify } from 'yaml';
import { AppModule } from '../app.module.js';
import { createHttpAdapter } from '../app.setup.js';
import { createOpenApiDocument } from '../swagger.js';

/**
 * `npm run openapi`: writes openapi.json and openapi.yaml from the app's
 * own controllers and DTOs, without listening, on an in-memory database.
 * The committed copies are what clients are generated from; CI regenerates
 * them and fails when they differ.
 */
async function writeOpenApi(directory: string): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(
    await AppModule.forRoot({
      DATABASE_URL: 'sqlite::memory:',
      LOG_LEVEL: 'error',
      NODE_ENV: 'development',
    }),
    createHttpAdapter(),
    { logger: ['error', 'fatal'] },
  );
  try {
    const document = await createOpenApiDocument(app);
    writeFileSync(
      resolve(directory, 'openapi.json'),
      `${JSON.stringify(document, null, 2)}\n`,
    );
    writeFileSync(
      resolve(directory, 'openapi.yaml'),
      stringify(document, { lineWidth: 0, aliasDuplicateObjects: false }),
    );
  } finally {
    await app.close();
  }
}

writeOpenApi(process.argv[2] ?? '.').catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
