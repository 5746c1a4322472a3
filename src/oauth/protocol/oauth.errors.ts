import { HttpException } from '@nestjs/common';

/**
 * RFC 6749 §5.2 error codes, RFC 8707's `invalid_target`, and
 * `temporarily_unavailable` from the same registry (§4.1.2.1, §11.4) for a
 * 429: §5.2 has no code for "too many requests", and this is the
 * registered one that says "retry later".
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  /** RFC 8628 §3.5: the device flow's answers while the user decides. */
  | 'authorization_pending'
  | 'slow_down'
  | 'access_denied'
  | 'expired_token'
  | 'temporarily_unavailable'
  | 'server_error'
  /** RFC 9449 §5: the DPoP proof sent to the token endpoint is invalid. */
  | 'invalid_dpop_proof';

/**
 * A protocol error as a typed value with its status; the global filter
 * writes it as an RFC 6749 §5.2 body in one place.
 */
export class OAuthError extends HttpException {
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    status = 400,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(description, status);
  }
}

export class InvalidRequest extends OAuthError {
  constructor(description: string) {
    super('invalid_request', description);
  }
}

export class InvalidGrant extends OAuthError {
  constructor(description: string) {
    super('invalid_grant', description);
  }
}

export class UnsupportedGrantType extends OAuthError {
  constructor(description: string) {
    super('unsupported_grant_type', description);
  }
}

export class UnauthorizedClient extends OAuthError {
  constructor(description: string) {
    super('unauthorized_client', description);
  }
}

export class InvalidScope extends OAuthError {
  constructor(description: string) {
    super('invalid_scope', description);
  }
}

/** RFC 8707 §2: the resource is unknown, malformed, or not for this client. */
export class InvalidTarget extends OAuthError {
  constructor(description: string) {
    super('invalid_target', description);
  }
}

/** RFC 8628 §3.5: the device flow's polling answers, each a 400. */
export class DeviceFlowError extends OAuthError {
  constructor(
    error:
      'authorization_pending' | 'slow_down' | 'access_denied' | 'expired_token',
    description: string,
  ) {
    super(error, description);
  }
}

export class InvalidDpopProof extends OAuthError {
  constructor(description: string) {
    super('invalid_dpop_proof', description);
  }
}

/**
 * RFC 6749 §5.2: a failed client authentication through the Authorization
 * header answers 401 with a challenge for the scheme the client used.
 */
export class InvalidClient extends OAuthError {
  constructor(description: string, realm: string) {
    super('invalid_client', description, 401, {
      'WWW-Authenticate': `Basic realm="${realm}", charset="UTF-8"`,
    });
  }
}
