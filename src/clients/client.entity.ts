import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import type { ClientJwks } from './client-jwks.js';

/** RFC 8693 §2.1: a token exchange's grant_type. */
export const TOKEN_EXCHANGE_GRANT_TYPE =
  'urn:ietf:params:oauth:grant-type:token-exchange';

/** RFC 8628 §3.4: the device flow's grant_type. */
export const DEVICE_CODE_GRANT_TYPE =
  'urn:ietf:params:oauth:grant-type:device_code';

export const CLIENT_GRANT_TYPES = [
  'authorization_code',
  'client_credentials',
  'password',
  'refresh_token',
  TOKEN_EXCHANGE_GRANT_TYPE,
  DEVICE_CODE_GRANT_TYPE,
] as const;
export type ClientGrantType = (typeof CLIENT_GRANT_TYPES)[number];

/**
 * RFC 6749 §2.1: a confidential client keeps a secret or a key (another
 * service of the company, a web app's back end); a public client cannot (a
 * native or single-page app), so it authenticates with its `client_id`
 * alone and must prove each authorization code with PKCE.
 */
export const CLIENT_TYPES = ['confidential', 'public'] as const;
export type ClientType = (typeof CLIENT_TYPES)[number];

/** A registered client (RFC 6749 §2): another service of the company, or an app people sign in to. */
@Entity({ name: 'clients' })
export class Client {
  /** The `client_id`. */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  /**
   * Hex SHA-256 of the secret: 256 random bits need no slow hash. Null for
   * a client that authenticates with its keys instead (`jwks`).
   */
  @Column({ type: 'varchar', length: 64, nullable: true })
  secretHash!: string | null;

  /**
   * The public keys of a `private_key_jwt` client (RFC 7523 §2.2); null
   * for a client with a secret. A client has one or the other, never both.
   */
  @Column({ type: 'simple-json', nullable: true })
  jwks!: ClientJwks | null;

  @Column({ type: 'simple-array' })
  allowedScopes!: string[];

  @Column({ type: 'simple-array' })
  allowedGrantTypes!: ClientGrantType[];

  /**
   * RFC 9449 §5.2: every token request of this client must carry a DPoP
   * proof, so none of its access tokens is a bearer token.
   */
  @Column({ type: 'boolean', default: false })
  dpopBoundAccessTokens!: boolean;

  /** Registered before client types existed: confidential, as every client was. */
  @Column({ type: 'varchar', length: 16, default: 'confidential' })
  clientType!: ClientType;

  /**
   * The exact redirect URIs of the authorization code grant (RFC 6749
   * §3.1.2, RFC 9700 §2.1); null for a client without that grant.
   */
  @Column({ type: 'simple-json', nullable: true })
  redirectUris!: string[] | null;

  /** The company's own app: its users are not asked for consent. */
  @Column({ type: 'boolean', default: false })
  firstParty!: boolean;

  @CreateDateColumn()
  createdAt!: Date;
}
