import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { DataSource, Repository } from 'typeorm';
import type { Actor } from '../access/actor.js';
import { SecurityEvents } from '../audit/security-events.service.js';
import { PrimaryKeyLookup } from '../common/primary-key-lookup.js';
import { hashSecret, newSecret, secretMatches } from '../common/secrets.js';
import { containsNul } from '../database/text.js';
import { inTransaction } from '../database/transaction.js';
import { SessionEnder } from '../sessions/session-ender.service.js';
import type { ClientGrantType, ClientType } from './client.entity.js';
import { Client } from './client.entity.js';
import type { ClientJwks } from './client-jwks.js';

export interface NewClient {
  name: string;
  allowedScopes: string[];
  allowedGrantTypes: ClientGrantType[];
  /** Public keys instead of a secret (private_key_jwt), already read by readClientJwks. */
  jwks?: ClientJwks;
  /** RFC 9449 §5.2: refuse its token requests without a DPoP proof. */
  dpopBoundAccessTokens?: boolean;
  /** Confidential unless said otherwise; a public client gets no secret. */
  clientType?: ClientType;
  /** Already checked by redirectUriProblem. */
  redirectUris?: string[];
  firstParty?: boolean;
}

/** A client's 256-bit secret burns this much work whether or not the id exists. */
const UNKNOWN_CLIENT_HASH = hashSecret('no client has this secret');

@Injectable()
export class ClientsService {
  /**
   * Client authentication's lookup, on every OAuth request, and a client
   * token's, on every use: read from the database each time, never cached,
   * so a client deleted through any instance stops working at once.
   */
  private readonly byId: PrimaryKeyLookup<Client>;

  constructor(
    @InjectRepository(Client) private readonly clients: Repository<Client>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly sessions: SessionEnder,
    private readonly events: SecurityEvents,
  ) {
    this.byId = new PrimaryKeyLookup(dataSource, Client);
  }

  /**
   * Registers a client. A client with keys, or a public one, gets no
   * secret; any other gets one, returned once and stored only as a hash.
   */
  async create(
    request: NewClient,
    actor: Actor,
  ): Promise<{ client: Client; clientSecret: string | null }> {
    const clientType = request.clientType ?? 'confidential';
    const clientSecret =
      request.jwks === undefined && clientType === 'confidential'
        ? newSecret()
        : null;
    const client = this.clients.create({
      id: `svc_${randomBytes(12).toString('base64url')}`,
      // Millisecond precision, which SQLite's column default would not keep.
      createdAt: new Date(),
      name: request.name,
      secretHash: clientSecret === null ? null : hashSecret(clientSecret),
      jwks: request.jwks ?? null,
      allowedScopes: [...new Set(request.allowedScopes)],
      allowedGrantTypes: [...new Set(request.allowedGrantTypes)],
      dpopBoundAccessTokens: request.dpopBoundAccessTokens ?? false,
      clientType,
      redirectUris:
        request.redirectUris === undefined || request.redirectUris.length === 0
          ? null
          : [...request.redirectUris],
      firstParty: request.firstParty ?? false,
    });
    await inTransaction(this.dataSource, async (manager) => {
      await manager.save(client);
      await this.events.record(
        {
          type: 'client.created',
          clientId: client.id,
          details: {
            name: client.name,
            allowedScopes: client.allowedScopes,
            allowedGrantTypes: client.allowedGrantTypes,
            tokenEndpointAuthMethod: authMethodOf(client),
            ...keyIdsOf(client),
            dpopBoundAccessTokens: client.dpopBoundAccessTokens,
            clientType: client.clientType,
            redirectUris: client.redirectUris ?? [],
            firstParty: client.firstParty,
          },
        },
        actor,
        manager,
      );
    });
    return { client, clientSecret };
  }

  /**
   * Replaces the keys of a private_key_jwt client, the way to rotate them:
   * register the old and the new key, switch the client to the new one,
   * then register the new one alone. 'no_keys' for a client with a secret.
   */
  async replaceJwks(
    id: string,
    jwks: ClientJwks,
    actor: Actor,
  ): Promise<Client | 'not_found' | 'no_keys'> {
    if (containsNul(id)) return 'not_found';
    return inTransaction(this.dataSource, async (manager) => {
      const client = await manager.findOneBy(Client, { id });
      if (client === null) return 'not_found';
      if (client.jwks === null) return 'no_keys';
      client.jwks = jwks;
      await manager.update(Client, { id }, { jwks });
      await this.events.record(
        {
          type: 'client.keys_replaced',
          clientId: id,
          details: keyIdsOf(client),
        },
        actor,
        manager,
      );
      return client;
    });
  }

  /** The client these credentials authenticate, or null. */
  async authenticate(
    clientId: string,
    clientSecret: string,
  ): Promise<Client | null> {
    const client = await this.findById(clientId);
    // A client with keys has no secret: nothing a caller sends matches.
    const matches = secretMatches(
      clientSecret,
      client?.secretHash ?? UNKNOWN_CLIENT_HASH,
    );
    return client !== null && matches ? client : null;
  }

  findById(id: string): Promise<Client | null> {
    if (containsNul(id)) return Promise.resolve(null);
    return this.byId.find(id);
  }

  list(): Promise<Client[]> {
    return this.clients.find({ order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /**
   * Deletes the client and ends the sessions users started through it, in
   * one transaction: a failure half-way leaves both, never a deleted
   * client whose logins live on.
   */
  async remove(id: string, actor: Actor): Promise<boolean> {
    if (containsNul(id)) return false;
    return inTransaction(this.dataSource, async (manager) => {
      const client = await manager.findOneBy(Client, { id });
      if (client === null) return false;
      await manager.delete(Client, { id });
      await this.sessions.endWithin(manager, { clientId: id }, 'revoked');
      await this.events.record(
        {
          type: 'client.deleted',
          clientId: id,
          details: { name: client.name },
        },
        actor,
        manager,
      );
      return true;
    });
  }
}

/** RFC 7591 §2's name for how the client authenticates at the token endpoint. */
export function authMethodOf(
  client: Client,
): 'client_secret_basic' | 'private_key_jwt' | 'none' {
  if (client.clientType === 'public') return 'none';
  return client.jwks === null ? 'client_secret_basic' : 'private_key_jwt';
}

function keyIdsOf(client: Client): { keyIds?: string[] } {
  return client.jwks === null
    ? {}
    : { keyIds: client.jwks.keys.map((key) => key.kid) };
}
