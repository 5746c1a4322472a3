import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  PrimaryColumn,
} from 'typeorm';
import type { Role } from '../users/user.entity.js';

/** A scope an API defines, and which users' roles it is granted to. */
export interface ApiScope {
  name: string;
  /** What the scope lets a token do, in words a person consenting understands. */
  description: string;
  /** Users holding one of these roles may be granted it; none: only clients, by registration. */
  roles: Role[];
}

/**
 * An API of the company that accepts this service's tokens: an OAuth
 * protected resource (RFC 8707, RFC 9728). Its tokens carry its identifier
 * as `aud` and only its scopes, so a token it receives is refused by every
 * other API.
 */
@Entity({ name: 'resource_servers' })
@Index('UQ_resource_servers_identifier', ['identifier'], { unique: true })
export class ResourceServer {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  /** The `resource` a token request names and the `aud` of its tokens: an absolute URI. */
  @Column({ type: 'varchar', length: 512 })
  identifier!: string;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  @Column({ type: 'simple-json' })
  scopes!: ApiScope[];

  @CreateDateColumn()
  createdAt!: Date;
}
