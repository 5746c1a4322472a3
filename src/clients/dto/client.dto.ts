import type { Client, ClientGrantType, ClientType } from '../client.entity.js';
import { authMethodOf } from '../clients.service.js';
import { ClientJwksDto } from './client-jwks.dto.js';

/** A registered client, without its secret. */
export class ClientDto {
  /** @example "svc_Zk3x9QmB2vT8aLrE" */
  id!: string;
  /** @example "billing-service" */
  name!: string;
  /** @example ["users:read"] */
  allowedScopes!: string[];
  /** @example ["client_credentials"] */
  allowedGrantTypes!: ClientGrantType[];
  /**
   * `client_secret_basic` for a client with a secret (sent with HTTP Basic
   * or, as `client_secret_post`, in the form), `private_key_jwt` for one
   * with keys, `none` for a public client.
   * @example "private_key_jwt"
   */
  tokenEndpointAuthMethod!: 'client_secret_basic' | 'private_key_jwt' | 'none';
  /** A private_key_jwt client's public keys, each with the `alg` it is pinned to. */
  jwks?: ClientJwksDto;
  /** Whether its token requests must carry a DPoP proof (RFC 9449 §5.2). */
  dpopBoundAccessTokens!: boolean;
  /** @example "confidential" */
  clientType!: ClientType;
  /** The redirect URIs of the authorization code grant; empty without it. @example ["https://app.example.com/callback"] */
  redirectUris!: string[];
  /** Whether its users skip the consent screen. */
  firstParty!: boolean;
  createdAt!: Date;

  static from(client: Client): ClientDto {
    const dto = new ClientDto();
    dto.id = client.id;
    dto.name = client.name;
    dto.allowedScopes = [...client.allowedScopes];
    dto.allowedGrantTypes = [...client.allowedGrantTypes];
    dto.tokenEndpointAuthMethod = authMethodOf(client);
    if (client.jwks !== null) dto.jwks = ClientJwksDto.from(client.jwks);
    dto.dpopBoundAccessTokens = client.dpopBoundAccessTokens;
    dto.clientType = client.clientType;
    dto.redirectUris = [...(client.redirectUris ?? [])];
    dto.firstParty = client.firstParty;
    dto.createdAt = client.createdAt;
    return dto;
  }
}

/** The new client with its secret, if it has one: shown this once, stored only hashed. */
export class CreatedClientDto extends ClientDto {
  /**
   * Keep it secret: it is not stored and cannot be shown again. Absent for
   * a private_key_jwt or public client, which has none.
   */
  clientSecret?: string;

  static withSecret(
    client: Client,
    clientSecret: string | null,
  ): CreatedClientDto {
    return Object.assign(
      new CreatedClientDto(),
      ClientDto.from(client),
      clientSecret === null ? {} : { clientSecret },
    );
  }
}
