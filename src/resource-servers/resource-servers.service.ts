import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { DataSource, Repository } from 'typeorm';
import type { Actor } from '../access/actor.js';
import { SecurityEvents } from '../audit/security-events.service.js';
import { Client } from '../clients/client.entity.js';
import { containsNul } from '../database/text.js';
import { inTransaction } from '../database/transaction.js';
import { isUniqueViolation } from '../database/unique-violation.js';
import type { ApiScope } from './resource-server.entity.js';
import { ResourceServer } from './resource-server.entity.js';
import { ResourceServerClient } from './resource-server-client.entity.js';

export interface NewResourceServer {
  identifier: string;
  name: string;
  scopes: ApiScope[];
}

/** What an API lets a client have: its scopes, and which tokens it may exchange for the API's. */
export interface ClientAllowance {
  scopes: readonly string[];
  exchangeFrom: readonly string[];
  impersonation: boolean;
}

/** The registered APIs. Read from the database on every use, so a deletion on one instance holds on all at once. */
@Injectable()
export class ResourceServersService {
  constructor(
    @InjectRepository(ResourceServer)
    private readonly servers: Repository<ResourceServer>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly events: SecurityEvents,
  ) {}

  /** Registers an API; 'taken' when another has its identifier. */
  async create(
    request: NewResourceServer,
    actor: Actor,
  ): Promise<ResourceServer | 'taken'> {
    const server = this.servers.create({
      id: `api_${randomBytes(12).toString('base64url')}`,
      // Millisecond precision, which SQLite's column default would not keep.
      createdAt: new Date(),
      ...request,
    });
    try {
      await inTransaction(this.dataSource, async (manager) => {
        await manager.insert(ResourceServer, server);
        await this.events.record(
          {
            type: 'resource_server.registered',
            details: {
              resourceServerId: server.id,
              identifier: server.identifier,
              scopes: server.scopes.map((scope) => scope.name),
            },
          },
          actor,
          manager,
        );
      });
    } catch (error) {
      if (isUniqueViolation(error)) return 'taken';
      throw error;
    }
    return server;
  }

  list(): Promise<ResourceServer[]> {
    return this.servers.find({ order: { createdAt: 'ASC', id: 'ASC' } });
  }

  findById(id: string): Promise<ResourceServer | null> {
    if (containsNul(id)) return Promise.resolve(null);
    return this.servers.findOneBy({ id });
  }

  /** The API a `resource` or an `aud` names, if registered. */
  findByIdentifier(identifier: string): Promise<ResourceServer | null> {
    if (containsNul(identifier)) return Promise.resolve(null);
    return this.servers.findOneBy({ identifier });
  }

  /** Deletes the API; the database deletes which clients it let in with it. */
  async remove(id: string, actor: Actor): Promise<boolean> {
    if (containsNul(id)) return false;
    return inTransaction(this.dataSource, async (manager) => {
      const server = await manager.findOneBy(ResourceServer, { id });
      if (server === null) return false;
      await manager.delete(ResourceServer, { id });
      await this.events.record(
        {
          type: 'resource_server.deleted',
          details: { resourceServerId: id, identifier: server.identifier },
        },
        actor,
        manager,
      );
      return true;
    });
  }

  /** The clients the API lets ask for its tokens, oldest first. */
  clientsOf(server: ResourceServer): Promise<ResourceServerClient[]> {
    return this.dataSource.manager.find(ResourceServerClient, {
      where: { resourceServerId: server.id },
      order: { createdAt: 'ASC', clientId: 'ASC' },
    });
  }

  /** What the API lets this client ask for, or null when it does not let it in. */
  grantFor(
    server: ResourceServer,
    clientId: string,
  ): Promise<ResourceServerClient | null> {
    if (containsNul(clientId)) return Promise.resolve(null);
    return this.dataSource.manager.findOneBy(ResourceServerClient, {
      resourceServerId: server.id,
      clientId,
    });
  }

  /**
   * Lets a client ask for the API's tokens with these of its scopes (the
   * scopes already checked against the API's), replacing what it had.
   */
  async allowClient(
    server: ResourceServer,
    clientId: string,
    allowance: ClientAllowance,
    actor: Actor,
  ): Promise<ResourceServerClient | 'no_client'> {
    if (containsNul(clientId)) return 'no_client';
    return inTransaction(this.dataSource, async (manager) => {
      const client = await manager.findOneBy(Client, { id: clientId });
      if (client === null) return 'no_client';
      const existing = await manager.findOneBy(ResourceServerClient, {
        resourceServerId: server.id,
        clientId,
      });
      const grant = manager.create(ResourceServerClient, {
        resourceServerId: server.id,
        clientId,
        scopes: [...new Set(allowance.scopes)],
        exchangeFrom: [...new Set(allowance.exchangeFrom)],
        impersonation: allowance.impersonation,
        createdAt: existing?.createdAt ?? new Date(),
      });
      // An upsert: two administrators allowing the same client at once both succeed.
      await manager.upsert(ResourceServerClient, grant, [
        'resourceServerId',
        'clientId',
      ]);
      await this.events.record(
        {
          type: 'resource_server.client_allowed',
          clientId,
          details: {
            resourceServerId: server.id,
            identifier: server.identifier,
            scopes: grant.scopes,
            exchangeFrom: grant.exchangeFrom,
            impersonation: grant.impersonation,
          },
        },
        actor,
        manager,
      );
      return grant;
    });
  }

  /** Stops letting a client ask for the API's tokens; false when it was not let in. */
  async disallowClient(
    server: ResourceServer,
    clientId: string,
    actor: Actor,
  ): Promise<boolean> {
    if (containsNul(clientId)) return false;
    return inTransaction(this.dataSource, async (manager) => {
      const { affected } = await manager.delete(ResourceServerClient, {
        resourceServerId: server.id,
        clientId,
      });
      if (!affected) return false;
      await this.events.record(
        {
          type: 'resource_server.client_disallowed',
          clientId,
          details: {
            resourceServerId: server.id,
            identifier: server.identifier,
          },
        },
        actor,
        manager,
      );
      return true;
    });
  }
}
