import { Logger } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import type { KeyObject } from 'node:crypto';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { AppConfig } from '../../config/env.js';
import type { LoadedKey } from './key-material.js';
import {
  RSA_MODULUS_BITS,
  SIGNING_ALGORITHM,
  SIGNING_KEYS_LOG_CONTEXT,
  toLoadedKey,
} from './key-material.js';

/** The variable a configured key came from, for the messages that name it. */
export type KeyVariable = 'JWT_PRIVATE_KEY' | 'JWT_PRIVATE_KEY_FILE';

export type ConfiguredKey = LoadedKey & { variable: KeyVariable };

const logger = new Logger(SIGNING_KEYS_LOG_CONTEXT);

/**
 * The key from JWT_PRIVATE_KEY_FILE or JWT_PRIVATE_KEY, or undefined when
 * neither is set. A key that cannot sign RS256 tokens stops the start.
 */
export async function readConfiguredKey(
  config: ConfigService<AppConfig, true>,
): Promise<ConfiguredKey | undefined> {
  const file = config.get('JWT_PRIVATE_KEY_FILE', { infer: true });
  const variable: KeyVariable =
    file === undefined ? 'JWT_PRIVATE_KEY' : 'JWT_PRIVATE_KEY_FILE';
  let privateKey: KeyObject;
  try {
    const pem =
      file === undefined
        ? config.get('JWT_PRIVATE_KEY', { infer: true })
        : await readFile(file, 'utf8');
    if (pem === undefined) return undefined;
    privateKey = createPrivateKey(pem);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `Invalid configuration:\n  ${variable}: not a readable PEM private key (${reason})`,
      { cause: error },
    );
  }
  if (
    privateKey.asymmetricKeyType !== 'rsa' ||
    (privateKey.asymmetricKeyDetails?.modulusLength ?? 0) < RSA_MODULUS_BITS
  ) {
    throw new Error(
      `Invalid configuration:\n  ${variable}: must be an RSA key of at least ${RSA_MODULUS_BITS} bits (tokens are ${SIGNING_ALGORITHM})`,
    );
  }
  logger.log(`Signing access tokens with the key from ${variable}`);
  return {
    ...(await toLoadedKey(privateKey, createPublicKey(privateKey))),
    variable,
  };
}
