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
