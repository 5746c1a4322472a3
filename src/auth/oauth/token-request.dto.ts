/**
 * The body of `POST /auth/token`, form-encoded (RFC 6749 §4.3.2). Swagger
 * UI's "Authorize" dialog sends exactly this.
 */
export class TokenRequestDto {
  /** @example "password" */
  grant_type!: 'password';
  /** @example "alice" */
  username!: string;
  /** @example "correct horse battery staple" */
  password!: string;
  /**
   * Space-delimited scopes to request; by default every scope the user may have.
   * @example "profile"
   */
  scope?: string;
  /** For `client_secret_post`; omit for a public client such as Swagger UI. */
  client_id?: string;
  client_secret?: string;
}
