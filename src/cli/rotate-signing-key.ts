import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../app.module.js';
import { SigningKeysService } from '../oauth/keys/signing-keys.service.js';

/**
 * `npm run keys:rotate`: adds a new signing key to the database the service
 * uses (DATABASE_URL, from the environment or .env, as the service reads
 * it). Running instances sign with it after their next refresh, within a
 * minute; tokens signed before keep verifying until they expire.
 */
async function rotateSigningKey(): Promise<void> {
  const app = await NestFactory.createApplicationContext(
    await AppModule.forRoot(),
    { logger: ['error', 'warn', 'log'] },
  );
  try {
    const { kid, generation } = await app.get(SigningKeysService).rotate();
    console.log(`New signing key: kid ${kid}, generation ${generation}`);
  } finally {
    await app.close();
  }
}

rotateSigningKey().catch((error: unknown) => {
  // A bad variable is the operator's to fix: the message names it; a stack would bury it.
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
