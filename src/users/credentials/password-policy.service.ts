import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { MatchExtended, ZxcvbnFactory } from '@zxcvbn-ts/core';
import type { AppConfig } from '../../config/env.js';
import { normalizeUsername } from '../username.js';

/** bcrypt reads at most 72 bytes; anything longer would be silently cut. */
export const PASSWORD_MAX_BYTES = 72;

/**
 * zxcvbn score 3: "safely unguessable", about 10^8 guesses. A password that
 * reaches it passes whatever it is made of (a passphrase of common words,
 * say); one below it is refused only for what makes it guessable.
 */
const MIN_STRENGTH_SCORE = 3;

/**
 * zxcvbn's matches that say nothing against a password: characters it can
 * only try one by one (what a random password is made of, bounded by the
 * length floor) and the separators between parts.
 */
const UNPATTERNED = new Set(['bruteforce', 'separator']);

/** Why a match of zxcvbn's makes a password guessable, by its pattern. */
const GUESSABLE_PATTERNS: Record<string, string> = {
  repeat: 'it repeats a character or a group of characters',
  sequence: 'it contains a character sequence such as abc or 9876',
  spatial: 'it contains a keyboard pattern such as qwerty or zxcvbn',
  date: 'it contains a date',
  regex: 'it contains a recent year',
};

/** The dictionaries of @zxcvbn-ts/language-common, and the user's own inputs. */
const GUESSABLE_DICTIONARIES: Record<string, string> = {
  'passwords-common':
    'it is, or is built on, one of the most common passwords of public breaches',
  'diceware-common':
    'it is a short phrase of common words: add more words, or less common ones',
  userInputs: 'it contains the username',
};

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
  private strength?: Promise<ZxcvbnFactory>;

  constructor(config: ConfigService<AppConfig, true>) {
    this.minLength = config.get('PASSWORD_MIN_LENGTH', { infer: true });
  }

  /** Why this password may not be used, or `null` when it may. */
  async violation(password: string, username?: string): Promise<string | null> {
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
    const strength = await (this.strength ??= loadStrengthEstimator());
    const result = strength.check(
      normalized,
      username === undefined ? [] : [normalizeUsername(username)],
    );
    if (result.score >= MIN_STRENGTH_SCORE) return null;
    // The score alone is no blocklist: a random password at the length floor
    // scores below 3 too, and is refused only when a match says why.
    const reasons = new Set(
      result.sequence
        .filter((match) => !UNPATTERNED.has(match.pattern))
        .map((match) => guessableBecause(match)),
    );
    if (reasons.size === 0) return null;
    return `password is too easy to guess: ${[...reasons].join('; ')}. Try a longer passphrase of unrelated words.`;
  }
}

/**
 * The dictionaries are some 6 MB of heap and a good part of a cold start,
 * and only registration and password changes need them: loaded at the
 * first check, not at boot. No language package: the policy words its own
 * reasons and never reads zxcvbn's feedback, and @zxcvbn-ts/language-en
 * would decompress its English dictionaries (another 8 MB of heap, 20 MB of
 * resident memory) for the feedback's translations alone.
 */
async function loadStrengthEstimator(): Promise<ZxcvbnFactory> {
  const [{ ZxcvbnFactory }, common] = await Promise.all([
    import('@zxcvbn-ts/core'),
    import('@zxcvbn-ts/language-common'),
  ]);
  return new ZxcvbnFactory({
    dictionary: common.dictionary,
    graphs: common.adjacencyGraphs,
  });
}

function guessableBecause(match: MatchExtended): string {
  const reason =
    typeof match.dictionaryName === 'string'
      ? GUESSABLE_DICTIONARIES[match.dictionaryName]
      : GUESSABLE_PATTERNS[match.pattern];
  return reason ?? 'it follows a predictable pattern';
}
