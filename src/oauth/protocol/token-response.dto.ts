/** RFC 6749 §5.1 successful token response. */
export class TokenResponseDto {
  /**
   * An RFC 9068 JWT, to send as `Authorization: Bearer <access_token>`,
   * or, when `token_type` is `DPoP`, as `Authorization: DPoP <access_token>`
   * with a DPoP proof of the same key.
   */
  access_token!: string;
  /**
   * `DPoP` when the request carried a DPoP proof (RFC 9449 §5): the token
   * is bound to its key and is refused as a bearer token.
   * @example "Bearer"
   */
  token_type!: 'Bearer' | 'DPoP';
  /**
   * Seconds until the access token expires.
   * @example 900
   */
  expires_in!: number;
  /**
   * Exchanges for a new access token at this endpoint (grant_type=refresh_token),
   * once: each refresh returns a new one. Not issued for client_credentials.
   */
  refresh_token?: string;
  /**
   * A token exchange only (RFC 8693 §2.2.1): what `access_token` is.
   * @example "urn:ietf:params:oauth:token-type:access_token"
   */
  issued_token_type?: 'urn:ietf:params:oauth:token-type:access_token';
  /**
   * The scopes granted, space-delimited.
   * @example "profile"
   */
  scope!: string;
}
