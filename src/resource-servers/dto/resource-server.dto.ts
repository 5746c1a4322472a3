import type { ApiScope, ResourceServer } from '../resource-server.entity.js';
import type { Role } from '../../users/user.entity.js';

export class ResourceServerScopeDto {
  /** @example "invoices:read" */
  name!: string;
  /** @example "Read the invoices of your account." */
  description!: string;
  /** @example ["user", "admin"] */
  roles!: Role[];
}

/** A registered API (an OAuth protected resource). */
export class ResourceServerDto {
  /** @example "api_Yq3v0Lw8cN2pTe5R" */
  id!: string;
  /** @example "https://billing.example.com" */
  identifier!: string;
  /** @example "Billing API" */
  name!: string;
  scopes!: ResourceServerScopeDto[];
  createdAt!: Date;

  static from(server: ResourceServer): ResourceServerDto {
    return Object.assign(new ResourceServerDto(), {
      id: server.id,
      identifier: server.identifier,
      name: server.name,
      scopes: server.scopes.map((scope: ApiScope) => ({ ...scope })),
      createdAt: server.createdAt,
    });
  }
}
