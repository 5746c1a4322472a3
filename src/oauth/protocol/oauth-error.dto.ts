import type { OAuthErrorCode } from './oauth.errors.js';

/** RFC 6749 §5.2 error response of the OAuth endpoints. */
export class OAuthErrorDto {
  /**
   * @example "invalid_grant"
   */
  error!: OAuthErrorCode;
  /** @example "The username or password is wrong, or the account is inactive." */
  error_description?: string;
}
