import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as zxcvbnCommon from '@zxcvbn-ts/language-common';
import * as zxcvbnEnglish from '@zxcvbn-ts/language-en';
import type { AppConfig } from '../config/env.js';
import { normalizeUsername } from './username.js';

/** bcrypt reads at most 72 bytes; anything longer would be silently cut. */
export const PASSWORD_MAX_BYTES = 72;

/**
 * zxcvbn score 3: "safely unguessable", about 10^8 guesses. Below it are the
 * breached and common passwords of the dictionary and their close variants
 * (repeats, keyboard rows, sequences, the username with digits).
 */
const MIN_STRENGTH_SCORE = 3;

/**
 * NIST SP 800-63B-4 §3.1.1.2 for a password that is the only factor: a
 * length floor, no composition rules, and a blocklist of common and
 * breached passwords. The blocklist is zxcvbn-ts's common dictionary
 * (@zxcvbn-ts/language-common: the most used passwords of public breach
 * corpora), applied through its matcher so that variants are caught too.
 */
@Injectable()
export class PasswordPolicy {
  private readonly minLength: number;
  private readonly strength = new ZxcvbnFactory({
    dictionary: zxcvbnCommon.dictionary,
    graphs: zxcvbnCommon.adjacencyGraphs,
    translations: zxcvbnEnglish.translations,
  });

  constructor(config: ConfigService<AppConfig, true>) {
    this.minLength = config.get('PASSWORD_MIN_LENGTH', { infer: true });
  }

  /** Why this password may not be used, or `null` when it may. */
  violation(password: string, username?: string): string | null {
    const normalized = password.normalize('NFKC');
    const bytes = Buffer.byteLength(normalized, 'utf8');
    if (bytes > PASSWORD_MAX_BYTES) {
      return `password must be at most ${PASSWORD_MAX_BYTES} bytes in UTF-8 (bcrypt's limit: a longer one would be silently truncated); this one is ${bytes} bytes`;
    }
    const characters = [...normalized].length;
    if (characters < this.minLength) {
      return `password must be at least ${this.minLength} characters; this one is ${characters}`;
    }
    if (
      username !== undefined &&
      normalizeUsername(normalized) === normalizeUsername(username)
    ) {
      return 'password must not be the username';
    }
    const result = this.strength.check(
      normalized,
      username === undefined ? [] : [normalizeUsername(username)],
    );
    if (result.score < MIN_STRENGTH_SCORE) {
      const reason =
        result.feedback.warning ??
        'It is common or follows a predictable pattern.';
      return `password is too easy to guess: ${reason} Try a longer passphrase of unrelated words.`;
    }
    return null;
  }
}
