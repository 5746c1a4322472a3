/** RFC 8414 §2 authorization server metadata. */
export class AuthorizationServerMetadataDto {
  /** @example "http://localhost:3000" */
  issuer!: string;
  /** RFC 6749 §3.1: where a browser starts the authorization code flow. */
  authorization_endpoint!: string;
  token_endpoint!: string;
  jwks_uri!: string;
  revocation_endpoint!: string;
  introspection_endpoint!: string;
  /** RFC 8628 §4. */
  device_authorization_endpoint!: string;
  grant_types_supported!: string[];
  scopes_supported!: string[];
  /** @example ["code"] */
  response_types_supported!: string[];
  /** RFC 8414 §2 and RFC 7636: PKCE with S256 only. @example ["S256"] */
  code_challenge_methods_supported!: string[];
  /** RFC 9207 §3: every authorization response carries `iss`. */
  authorization_response_iss_parameter_supported!: boolean;
  /** @example ["client_secret_basic","client_secret_post","private_key_jwt","none"] */
  token_endpoint_auth_methods_supported!: string[];
  /** The algorithms of `private_key_jwt` assertions. @example ["RS256","PS256","ES256","ES384","EdDSA","Ed25519"] */
  token_endpoint_auth_signing_alg_values_supported!: string[];
  revocation_endpoint_auth_methods_supported!: string[];
  revocation_endpoint_auth_signing_alg_values_supported!: string[];
  introspection_endpoint_auth_methods_supported!: string[];
  introspection_endpoint_auth_signing_alg_values_supported!: string[];
  /** RFC 9449 §5.1: the algorithms of DPoP proofs. @example ["RS256","PS256","ES256","ES384","EdDSA","Ed25519"] */
  dpop_signing_alg_values_supported!: string[];
  service_documentation!: string;
}

/** RFC 9728 §2 protected resource metadata. */
export class ProtectedResourceMetadataDto {
  resource!: string;
  authorization_servers!: string[];
  jwks_uri!: string;
  scopes_supported!: string[];
  bearer_methods_supported!: string[];
  resource_signing_alg_values_supported!: string[];
  /** RFC 9728 §2: the algorithms of the DPoP proofs this resource accepts. */
  dpop_signing_alg_values_supported!: string[];
  /** RFC 9728 §2: false, bearer tokens are accepted too. */
  dpop_bound_access_tokens_required!: boolean;
  resource_documentation!: string;
}
