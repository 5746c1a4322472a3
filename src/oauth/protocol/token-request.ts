import type { FastifyRequest } from 'fastify';
import { InvalidRequest } from './oauth.errors.js';

/**
 * The parameters of the OAuth endpoints' forms, as this service reads them:
 * token (RFC 6749 §4.3, §4.4, §6), revocation (RFC 7009 §2.1) and
 * introspection (RFC 7662 §2.1), and client assertions (RFC 7521 §4.2).
 */
export interface TokenRequest {
  grant_type?: string;
  username?: string;
  password?: string;
  scope?: string;
  client_id?: string;
  client_secret?: string;
  client_assertion_type?: string;
  client_assertion?: string;
  refresh_token?: string;
  token?: string;
  token_type_hint?: string;
  /** RFC 8693 §2.1: a token exchange's tokens. */
  subject_token?: string;
  subject_token_type?: string;
  actor_token?: string;
  actor_token_type?: string;
  requested_token_type?: string;
  /** RFC 8628 §3.4: the device flow's code, while the tool polls. */
  device_code?: string;
  /** RFC 6749 §4.1.3 and RFC 7636 §4.5: the authorization code grant's. */
  code?: string;
  redirect_uri?: string;
  code_verifier?: string;
  /** RFC 8707 §2: repeatable, so always a list (empty when absent). */
  resource: string[];
  /** RFC 8693 §2.1: repeatable, like `resource`. */
  audience: string[];
}

const PARAMETERS = [
  'grant_type',
  'username',
  'password',
  'scope',
  'client_id',
  'client_secret',
  'client_assertion_type',
  'client_assertion',
  'refresh_token',
  'token',
  'token_type_hint',
  'subject_token',
  'subject_token_type',
  'actor_token',
  'actor_token_type',
  'requested_token_type',
  'device_code',
  'code',
  'redirect_uri',
  'code_verifier',
] as const satisfies readonly (keyof TokenRequest)[];

/** The parameters a request may repeat: RFC 8707 §2's `resource`, RFC 8693 §2.1's `audience`. */
const REPEATABLE = [
  'resource',
  'audience',
] as const satisfies readonly (keyof TokenRequest)[];

/**
 * The parameters of a token request, checked for what RFC 6749 asks of
 * their form: an `application/x-www-form-urlencoded` body (§3.2), no
 * parameter twice (§3.1), an empty value the same as none (§3.1), unknown
 * parameters ignored (§3.2).
 */
export function readTokenRequest(request: FastifyRequest): TokenRequest {
  const contentType = request.headers['content-type']
    ?.split(';', 1)[0]
    .trim()
    .toLowerCase();
  if (contentType !== 'application/x-www-form-urlencoded') {
    throw new InvalidRequest(
      'The request must be sent as application/x-www-form-urlencoded (RFC 6749 section 3.2).',
    );
  }
  const query = (request.query ?? {}) as Record<string, unknown>;
  // Parameters in a URL end up in proxy and access logs, and passport-local would read them.
  const inUrl = [...PARAMETERS, ...REPEATABLE].filter(
    (name) => query[name] !== undefined,
  );
  if (inUrl.length > 0) {
    throw new InvalidRequest(
      `${inUrl.join(', ')} must be sent in the request body, never in the URL.`,
    );
  }
  const body = (request.body ?? {}) as Record<string, unknown>;
  const params: TokenRequest = { resource: [], audience: [] };
  for (const name of PARAMETERS) {
    const value = body[name];
    if (Array.isArray(value)) {
      throw new InvalidRequest(
        `${name} must not be repeated (RFC 6749 section 3.1).`,
      );
    }
    if (typeof value === 'string' && value !== '') params[name] = value;
  }
  for (const name of REPEATABLE) {
    const value = body[name];
    const values = Array.isArray(value) ? (value as unknown[]) : [value];
    params[name] = values.filter(
      (one): one is string => typeof one === 'string' && one !== '',
    );
  }
  return params;
}
