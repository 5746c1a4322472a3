import type { FastifyReply } from 'fastify';
import { sendPage } from '../../browser/pages.js';
import { errorPage } from '../../browser/pages.js';

/**
 * RFC 6749 §4.1.2 and §4.1.2.1: the answer at the client's redirect URI,
 * its own query kept, with RFC 9207's `iss` in every one (success or
 * error) so that a client talking to several servers can tell which
 * answered (mix-up, RFC 9700 §4.4).
 */
export function redirectToClient(
  reply: FastifyReply,
  redirectUri: string,
  params: Record<string, string | undefined>,
  status: 302 | 303,
): void {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params))
    if (value !== undefined) url.searchParams.append(name, value);
  void reply
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .redirect(url.toString(), status);
}

/** The page for a request whose client or redirect URI is not known to be valid: nothing is redirected. */
export function sendAuthorizationErrorPage(
  reply: FastifyReply,
  message: string,
  status = 400,
): void {
  sendPage(reply, errorPage('This sign-in link is not valid', message), {
    title: 'Sign-in error',
    status,
  });
}

/** The origin a redirect to `uri` goes to, for the CSP `form-action` of the page that leads there. */
export function originOf(uri: string): string {
  return new URL(uri).origin;
}
