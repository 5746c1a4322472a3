/**
 * Names whose values never reach a log, wherever they appear in a logged
 * object: credentials in headers, in OAuth bodies (RFC 6749, 7009, 7662)
 * and in the users API.
 */
const SECRET_KEYS = [
  'authorization',
  'cookie',
  'set-cookie',
  'password',
  'currentPassword',
  'newPassword',
  'client_secret',
  'clientSecret',
  'refresh_token',
  'access_token',
  'token',
];

/**
 * pino `redact` paths for SECRET_KEYS at the top of a log record and up to
 * three objects deep (`req.headers.authorization`, `body.password`,
 * `err.response.body.client_secret`): redaction matches exact paths, so
 * each depth is spelled out.
 */
export const REDACTED_PATHS = SECRET_KEYS.flatMap((key) => [
  `["${key}"]`,
  `*["${key}"]`,
  `*.*["${key}"]`,
  `*.*.*["${key}"]`,
]);

export const REDACTED = '[Redacted]';

/** Query parameters of the service's own routes whose values are harmless. */
const LOGGED_QUERY_VALUES = new Set(['page', 'limit', 'username']);

/**
 * The URL as it may be logged: every query value is replaced except those
 * of LOGGED_QUERY_VALUES. The service refuses OAuth parameters in a URL, but
 * the request is logged whatever the answer, and a client that sent
 * `?password=…` must not find it in the logs.
 */
export function loggableUrl(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart < 0) return url;
  // Parsed, so that a percent-encoded name (`p%61ssword`) is recognised too.
  const query = [...new URLSearchParams(url.slice(queryStart + 1))].map(
    ([name, value]) =>
      `${encodeURIComponent(name)}=${LOGGED_QUERY_VALUES.has(name) ? encodeURIComponent(value) : REDACTED}`,
  );
  return `${url.slice(0, queryStart)}?${query.join('&')}`;
}
