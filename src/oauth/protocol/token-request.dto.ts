/**
 * The body of `POST /auth/token`, form-encoded. Which fields apply depends
 * on `grant_type`: `password` (RFC 6749 §4.3.2) takes username and
 * password, as Swagger UI's "Authorize" dialog sends them;
 * `refresh_token` (§6) takes refresh_token; `client_credentials` (§4.4)
 * takes only client authentication; a token exchange (RFC 8693) takes
 * subject_token and names the API with resource or audience.
 */
export class TokenRequestDto {
  /** @example "password" */
  grant_type!:
    | 'authorization_code'
    | 'password'
    | 'refresh_token'
    | 'client_credentials'
    | 'urn:ietf:params:oauth:grant-type:device_code'
    | 'urn:ietf:params:oauth:grant-type:token-exchange';
  /** @example "alice" */
  username?: string;
  /** @example "correct horse battery staple" */
  password?: string;
  /** The refresh token of an earlier response; it can be used once. */
  refresh_token?: string;
  /**
   * Space-delimited scopes to request; by default every scope allowed.
   * @example "profile"
   */
  scope?: string;
  /**
   * RFC 8707: the API the access token is for, by its registered
   * identifier; the token then carries it as `aud`, and that API's scopes
   * only. Left out, the token is for this service. The form allows it
   * repeated, but one access token is for one API: name one. With a refresh
   * token, another API the user and client may use.
   * @example ["https://billing.example.com"]
   */
  resource?: string[];
  /**
   * Token exchange (RFC 8693): the same as `resource`, by another name;
   * together they name one API.
   */
  audience?: string[];
  /** The device flow (RFC 8628 §3.4): the `device_code` of POST /auth/device_authorization. */
  device_code?: string;
  /** Token exchange: the user's access token the client received. */
  subject_token?: string;
  /** Token exchange: always this. @example "urn:ietf:params:oauth:token-type:access_token" */
  subject_token_type?: 'urn:ietf:params:oauth:token-type:access_token';
  /** Token exchange, optional: the calling client's own access token (the actor is the authenticated client either way). */
  actor_token?: string;
  /** With `actor_token`. */
  actor_token_type?: 'urn:ietf:params:oauth:token-type:access_token';
  /** Token exchange, optional: only access tokens are issued. */
  requested_token_type?: 'urn:ietf:params:oauth:token-type:access_token';
  /** The authorization code grant (RFC 6749 §4.1.3): the code the redirect carried. */
  code?: string;
  /** The authorization code grant: the redirect_uri of the authorization request, exactly. */
  redirect_uri?: string;
  /** The authorization code grant: the PKCE code verifier (RFC 7636 §4.5). */
  code_verifier?: string;
  /** For `client_secret_post`, optional with `client_assertion`; a registered public client sends it alone; omit for Swagger UI's password form. */
  client_id?: string;
  client_secret?: string;
  /**
   * For `private_key_jwt` (RFC 7523 §2.2), with `client_assertion`.
   * @example "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
   */
  client_assertion_type?: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
  /**
   * A JWT the client signed with one of its registered keys: `iss` and
   * `sub` the client id, `aud` the issuer or the token endpoint, `exp` at
   * most 5 minutes ahead, a `jti` used once. Not with a secret.
   * @example "eyJhbGciOiJFUzI1NiIsImtpZCI6ImJpbGxpbmctMjAyNi0xMiJ9.eyJpc3MiOiJzdmNfWmszeDlRbUIydlQ4YUxyRSJ9.c2lnbmF0dXJl"
   */
  client_assertion?: string;
}

/** The body of `POST /auth/revoke` (RFC 7009 §2.1) and `POST /auth/introspect` (RFC 7662 §2.1). */
export class TokenTypeHintRequestDto {
  /** The access or refresh token. */
  token!: string;
  /** @example "refresh_token" */
  token_type_hint?: 'access_token' | 'refresh_token';
  /** For `client_secret_post`; optional with `client_assertion`. */
  client_id?: string;
  client_secret?: string;
  /**
   * For `private_key_jwt` (RFC 7523 §2.2), with `client_assertion`.
   * @example "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
   */
  client_assertion_type?: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
  /**
   * A JWT the client signed with one of its registered keys: `iss` and
   * `sub` the client id, `aud` the issuer or the token endpoint, `exp` at
   * most 5 minutes ahead, a `jti` used once. Not with a secret.
   * @example "eyJhbGciOiJFUzI1NiIsImtpZCI6ImJpbGxpbmctMjAyNi0xMiJ9.eyJpc3MiOiJzdmNfWmszeDlRbUIydlQ4YUxyRSJ9.c2lnbmF0dXJl"
   */
  client_assertion?: string;
}
