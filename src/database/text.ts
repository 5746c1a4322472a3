/**
 * PostgreSQL's text types cannot hold the NUL character (SQLite's can): a
 * statement that carries one fails as a whole. Nothing the service stores
 * contains one (usernames and client ids are validated or generated), so a
 * lookup by such a value finds nothing, and text that is only recorded, as
 * an attempted username in the audit log, keeps a visible stand-in instead.
 */
export function containsNul(value: string): boolean {
  return value.includes('\u0000');
}

/** The text with each NUL replaced by U+FFFD, the replacement character. */
export function withoutNul(value: string): string {
  return value.replaceAll('\u0000', '\uFFFD');
}
