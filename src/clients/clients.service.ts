import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { Repository } from 'typeorm';
import { hashSecret, newSecret, secretMatches } from '../common/secrets.js';
import type { ClientGrantType } from './client.entity.js';
import { Client } from './client.entity.js';

export interface NewClient {
  name: string;
  allowedScopes: string[];
  allowedGrantTypes: ClientGrantType[];
}

/** A client's 256-bit secret burns this much work whether or not the id exists. */
const UNKNOWN_CLIENT_HASH = hashSecret('no client has this secret');

@Injectable()
export class ClientsService {
  constructor(
    @InjectRepository(Client) private readonly clients: Repository<Client>,
  ) {}

  /** Registers a client; the secret is returned once and stored only as a hash. */
  async create(
    request: NewClient,
  ): Promise<{ client: Client; clientSecret: string }> {
    const clientSecret = newSecret();
    const client = await this.clients.save(
      this.clients.create({
        id: `svc_${randomBytes(12).toString('base64url')}`,
        // Millisecond precision, which SQLite's column default would not keep.
        createdAt: new Date(),
        name: request.name,
        secretHash: hashSecret(clientSecret),
        allowedScopes: [...new Set(request.allowedScopes)],
        allowedGrantTypes: [...new Set(request.allowedGrantTypes)],
      }),
    );
    return { client, clientSecret };
  }

  /** The client these credentials authenticate, or null. */
  async authenticate(
    clientId: string,
    clientSecret: string,
  ): Promise<Client | null> {
    const client = await this.clients.findOneBy({ id: clientId });
    const matches = secretMatches(
      clientSecret,
      client?.secretHash ?? UNKNOWN_CLIENT_HASH,
    );
    return client !== null && matches ? client : null;
  }

  findById(id: string): Promise<Client | null> {
    return this.clients.findOneBy({ id });
  }

  list(): Promise<Client[]> {
    return this.clients.find({ order: { createdAt: 'ASC', id: 'ASC' } });
  }

  async remove(id: string): Promise<boolean> {
    return ((await this.clients.delete({ id })).affected ?? 0) > 0;
  }
}
