/** An RSA public key as RFC 7517 / RFC 7518 §6.3 write it. */
export class JwkDto {
  /** @example "RSA" */
  kty!: string;
  /** The modulus, base64url. */
  n!: string;
  /** @example "AQAB" */
  e!: string;
  /** The RFC 7638 thumbprint; matches the `kid` of the tokens it signed. */
  kid!: string;
  /** @example "RS256" */
  alg!: string;
  /** @example "sig" */
  use!: string;
}

export class JwksDto {
  keys!: JwkDto[];
}
