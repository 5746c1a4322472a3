/** RFC 7662 §2.2 introspection response; only `active` when the token is not valid now. */
export class IntrospectionDto {
  active!: boolean;
  /** @example "profile" */
  scope?: string;
  client_id?: string;
  /** @example "alice" */
  username?: string;
  /** @example "Bearer" */
  token_type?: string;
  exp?: number;
  iat?: number;
  sub?: string;
  aud?: string;
  iss?: string;
  jti?: string;
}
