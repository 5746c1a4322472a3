import type { Client, ClientGrantType } from '../client.entity.js';

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
  createdAt!: Date;

  static from(client: Client): ClientDto {
    const dto = new ClientDto();
    dto.id = client.id;
    dto.name = client.name;
    dto.allowedScopes = [...client.allowedScopes];
    dto.allowedGrantTypes = [...client.allowedGrantTypes];
    dto.createdAt = client.createdAt;
    return dto;
  }
}

/** The new client with its secret: shown this once, stored only hashed. */
export class CreatedClientDto extends ClientDto {
  /** Keep it secret: it is not stored and cannot be shown again. */
  clientSecret!: string;

  static withSecret(client: Client, clientSecret: string): CreatedClientDto {
    return Object.assign(new CreatedClientDto(), ClientDto.from(client), {
      clientSecret,
    });
  }
}
