/** RFC 7800 §3.1 confirmation: the key a token is bound to. */
export class ConfirmationDto {
  /**
   * RFC 9449 §6.1: the RFC 7638 SHA-256 thumbprint of the DPoP key, base64url.
   * @example "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
   */
  jkt!: string;
}

/** RFC 7662 §2.2 introspection response; only `active` when the token is not valid now. */
export class IntrospectionDto {
  active!: boolean;
  /** @example "profile" */
  scope?: string;
  client_id?: string;
  /** @example "alice" */
  username?: string;
  /**
   * An access token's: `DPoP` for one bound to a DPoP key (RFC 9449 §6.2), else `Bearer`.
   * @example "Bearer"
   */
  token_type?: 'Bearer' | 'DPoP';
  /** The DPoP key a bound access token, or a bound refresh token of the public client, needs. */
  cnf?: ConfirmationDto;
  exp?: number;
  iat?: number;
  sub?: string;
  aud?: string;
  iss?: string;
  jti?: string;
  /**
   * RFC 8693 §4.1: in an exchanged token, the client acting for the user
   * (`sub`), with the actor before it nested as `act`, and so on up the
   * call chain.
   */
  act?: IntrospectedActorDto;
}

/** An actor of RFC 8693 §4.1; `act` is the one before it, of the same shape. */
export class IntrospectedActorDto {
  /** @example "svc_Zk3x9QmB2vT8aLrE" */
  sub!: string;
  /** The actor before this one, nested once per client in the chain. */
  act?: IntrospectedActorDto;
}
