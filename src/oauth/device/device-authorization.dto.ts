/** The body of `POST /auth/device_authorization` (RFC 8628 §3.1), form-encoded. */
export class DeviceAuthorizationRequestDto {
  /** A registered client with the device_code grant; its secret or assertion as at the token endpoint. */
  client_id?: string;
  client_secret?: string;
  /**
   * Space-delimited scopes to ask the user for; by default every scope the
   * client may ask for that the user may have.
   * @example "profile"
   */
  scope?: string;
  /** RFC 8707: the API the tokens are for; one. @example ["https://billing.example.com"] */
  resource?: string[];
}

/** RFC 8628 §3.2. */
export class DeviceAuthorizationResponseDto {
  /** The tool's secret while it polls the token endpoint (`grant_type=urn:ietf:params:oauth:grant-type:device_code`). */
  device_code!: string;
  /** What the user types on the verification page. @example "WDJB-MJHT" */
  user_code!: string;
  /** @example "http://localhost:3000/device" */
  verification_uri!: string;
  /** The page with the code filled in, for a link or a QR code. @example "http://localhost:3000/device?user_code=WDJB-MJHT" */
  verification_uri_complete!: string;
  /** Seconds until the codes expire. @example 600 */
  expires_in!: number;
  /** Seconds to wait between two polls. @example 5 */
  interval!: number;
}
