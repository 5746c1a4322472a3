import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsString, Matches } from 'class-validator';

/**
 * 3–64 letters, digits or `. _ - @ +` (API.md). Marks (\p{M}) are letters'
 * accents in scripts that keep them apart after NFKC. Nothing here can be a
 * control character, so a username is safe in a header or a log line.
 */
export const USERNAME_PATTERN = /^[\p{L}\p{M}\p{N}._\-@+]{3,64}$/u;

/**
 * The one form a username is stored and compared in: NFKC, then a case
 * fold ("Alice", "alice" and "ａｌｉｃｅ" are one account). Upper- then
 * lower-casing folds what lower-casing alone keeps apart ("STRASSE" and
 * "straße"), and Greek final sigma is folded by hand, as Unicode case
 * folding does. NFKC again after, since case mapping can denormalise.
 */
export function normalizeUsername(username: string): string {
  return username
    .normalize('NFKC')
    .toUpperCase()
    .toLowerCase()
    .replace(/ς/g, 'σ')
    .normalize('NFKC');
}

/** A DTO property holding a username: normalised first, then checked. */
export const IsUsername = () =>
  applyDecorators(
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' ? normalizeUsername(value) : value,
    ),
    IsString(),
    Matches(USERNAME_PATTERN, {
      message: 'username must be 3–64 letters, digits or . _ - @ +',
    }),
  );
