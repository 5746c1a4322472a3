import { IsArray } from 'class-validator';
import type { ClientJwk, ClientJwks } from '../client-jwks.js';

/**
 * A public key of a private_key_jwt client (RFC 7517). Private members
 * (`d`, `p`, `q`, `dp`, `dq`, `qi`) and symmetric keys (`k`) are refused.
 */
export class ClientJwkDto {
  /**
   * RSA (at least 2048 bits), EC (P-256, P-384) or OKP (Ed25519).
   * @example "EC"
   */
  kty!: 'RSA' | 'EC' | 'OKP';
  /**
   * Unique among the client's keys; its assertions name it in their header.
   * @example "billing-2026-12"
   */
  kid!: string;
  /**
   * The one algorithm this key signs with: RS256 or PS256 for RSA, ES256
   * for P-256, ES384 for P-384, EdDSA (or its RFC 9864 name Ed25519, the
   * two accepted alike) for Ed25519. Left out, it is RS256 for RSA and the
   * curve's algorithm otherwise, and stored so.
   * @example "ES256"
   */
  alg?: 'RS256' | 'PS256' | 'ES256' | 'ES384' | 'EdDSA' | 'Ed25519';
  /** Only `sig`, when present. */
  use?: 'sig';
  /** EC and OKP: the curve. @example "P-256" */
  crv?: string;
  /** EC and OKP: the public point's x coordinate, base64url. @example "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU" */
  x?: string;
  /** EC: the public point's y coordinate, base64url. @example "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0" */
  y?: string;
  /** RSA: the modulus, base64url. */
  n?: string;
  /** RSA: the public exponent, base64url. @example "AQAB" */
  e?: string;
}

/** The public keys of a private_key_jwt client: one to ten, for rotation without downtime. */
export class ClientJwksDto {
  @IsArray()
  keys!: ClientJwkDto[];

  static from(jwks: ClientJwks): ClientJwksDto {
    return Object.assign(new ClientJwksDto(), {
      keys: jwks.keys.map((key: ClientJwk) => ({ ...key })),
    });
  }
}
