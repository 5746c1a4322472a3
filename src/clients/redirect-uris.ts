/** More than an app needs (one per platform and environment), few enough to compare each request. */
export const MAX_REDIRECT_URIS = 10;

/** Longer than any real callback; a bound on what each authorization request is compared with. */
export const MAX_REDIRECT_URI_LENGTH = 2000;

/**
 * RFC 8252 §7.3: a native app's loopback redirect, `http` to the IP
 * literal, any port; the groups are the host, the port, the rest.
 */
const LOOPBACK = /^http:\/\/(127\.0\.0\.1|\[::1\])(?::(\d{1,5}))?([/?].*)?$/;

/**
 * Why a redirect URI cannot be registered, or null when it can. https
 * anywhere (RFC 9700 §2.1, OAuth 2.1 §2.3.1), or `http` only to a loopback
 * IP literal (RFC 8252 §7.3); never `localhost`, which a resolver or a
 * process on another interface may answer (§8.3); no fragment (RFC 6749
 * §3.1.2); no user name or password, which would leak the code's
 * destination into the URI's authority.
 */
export function redirectUriProblem(uri: string): string | null {
  if (uri.length > MAX_REDIRECT_URI_LENGTH)
    return `a redirect URI has at most ${MAX_REDIRECT_URI_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'each redirect URI must be an absolute URI';
  }
  if (uri.includes('#'))
    return 'a redirect URI must not have a fragment (RFC 6749 section 3.1.2)';
  if (url.username !== '' || url.password !== '')
    return 'a redirect URI must not hold a user name or password';
  if (/[\s<>"\\^`{|}]/.test(uri) || /[^\x21-\x7e]/.test(uri))
    return 'a redirect URI must be written in printable ASCII, percent-encoded';
  if (url.hostname === 'localhost' || url.hostname.endsWith('.localhost'))
    return 'use http://127.0.0.1 or http://[::1], not localhost (RFC 8252 section 8.3)';
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:') {
    return LOOPBACK.test(uri)
      ? null
      : 'http is only for a loopback redirect, http://127.0.0.1 or http://[::1] (RFC 8252 section 7.3); use https';
  }
  return 'a redirect URI is https, or http to a loopback address';
}

/**
 * RFC 6749 §3.1.2.3 and RFC 9700 §4.1.3: the URI the request names is one
 * of those registered, compared as strings, except that a loopback
 * redirect may name any port (RFC 8252 §7.3): a native app gets one from
 * the system at each start.
 */
export function matchesRegisteredRedirectUri(
  registered: readonly string[],
  requested: string,
): boolean {
  if (registered.includes(requested)) return true;
  const asked = LOOPBACK.exec(requested);
  if (asked === null) return false;
  return registered.some((uri) => {
    const own = LOOPBACK.exec(uri);
    return (
      own !== null &&
      own[1] === asked[1] &&
      (own[3] ?? '') === (asked[3] ?? '') &&
      portOk(asked[2])
    );
  });
}

function portOk(port: string | undefined): boolean {
  return port === undefined || Number(port) <= 65535;
}
