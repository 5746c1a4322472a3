import type { FastifyReply } from 'fastify';

/**
 * A return path the login page accepts: a path on this server, so that
 * `return` can never send a browser elsewhere (no open redirect). Null for
 * anything else: an absolute or scheme-relative URL, a backslash (which
 * browsers read as a slash), a control character.
 */
export function sameOriginPath(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 4096) return null;
  if (!value.startsWith('/') || value.startsWith('//')) return null;
  // Spelled out, as the client names are: a control character could forge a log line.
  // eslint-disable-next-line no-control-regex
  if (/[\\\u0000-\u001f\u007f]/.test(value)) return null;
  const base = 'http://return.invalid';
  try {
    const url = new URL(value, base);
    return url.origin === base ? `${url.pathname}${url.search}` : null;
  } catch {
    return null;
  }
}

/** The login page, set to send the browser back to `returnTo` (a path on this server) once signed in. */
export function loginPath(returnTo: string): string {
  return `/login?return=${encodeURIComponent(returnTo)}`;
}

/** Sends a browser nobody is signed in to to the login page, to come back to `returnTo` afterwards. */
export function redirectToLogin(reply: FastifyReply, returnTo: string): void {
  void reply
    .status(303)
    .header('cache-control', 'no-store')
    .redirect(loginPath(returnTo), 303);
}
