import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsString,
} from 'class-validator';
import { IsOmittable } from '../../common/validation.js';
import type { ResourceServerClient } from '../resource-server-client.entity.js';

export class AllowClientDto {
  /**
   * Those of the API's scopes the client may be granted: in its own tokens
   * (client_credentials), and at most these in the tokens of the users who
   * sign in through it.
   * @example ["invoices:read"]
   */
  @IsArray()
  @ArrayUnique()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  scopes!: string[];

  /**
   * Token exchange (RFC 8693): the audiences whose users' access tokens the
   * client may exchange for this API's tokens, on the user's behalf: this
   * service's own audience or another registered API's identifier (the API
   * the client itself serves, typically). Empty by default: no exchange.
   * @example ["https://storefront.example.com"]
   */
  @IsOmittable()
  @IsArray()
  @ArrayUnique()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  exchangeFrom?: string[];

  /**
   * Exchanged tokens impersonate the user (no `act` claim naming the
   * client). Off by default: they are delegated, and the API sees which
   * client acts for the user.
   */
  @IsOmittable()
  @IsBoolean()
  impersonation?: boolean;
}

/** A client an API lets ask for its tokens. */
export class ResourceServerClientDto {
  /** @example "svc_Zk3x9QmB2vT8aLrE" */
  clientId!: string;
  /** @example ["invoices:read"] */
  scopes!: string[];
  /** @example ["https://storefront.example.com"] */
  exchangeFrom!: string[];
  impersonation!: boolean;
  createdAt!: Date;

  static from(grant: ResourceServerClient): ResourceServerClientDto {
    return Object.assign(new ResourceServerClientDto(), {
      clientId: grant.clientId,
      scopes: [...grant.scopes],
      exchangeFrom: [...grant.exchangeFrom],
      impersonation: grant.impersonation,
      createdAt: grant.createdAt,
    });
  }
}

/** RFC 9728 §2: what a client learns of an API, for the API to serve at its own well-known URL. */
export class ApiProtectedResourceMetadataDto {
  /** @example "https://billing.example.com" */
  resource!: string;
  /** @example "Billing API" */
  resource_name!: string;
  /** @example ["http://localhost:3000"] */
  authorization_servers!: string[];
  /** @example ["invoices:read", "invoices:write"] */
  scopes_supported!: string[];
  /** @example ["header"] */
  bearer_methods_supported!: string[];
}
