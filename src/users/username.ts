/**
 * 3–64 letters, digits or `. _ - @ +` (API.md). Marks (\p{M}) are letters'
 * accents in scripts that keep them apart after NFKC. Nothing here can be a
 * control character, so a username is safe in a header or a log line.
 */
export const USERNAME_PATTERN = /^[\p{L}\p{M}\p{N}._\-@+]{3,64}$/u;

/**
 * The one form a username is stored and compared in: NFKC, then lower case
 * ("Alice", "alice" and "ａｌｉｃｅ" are one account). NFKC again after
 * lower-casing, since case mapping can leave a string unnormalised.
 */
export function normalizeUsername(username: string): string {
  return username.normalize('NFKC').toLowerCase().normalize('NFKC');
}
