import {
  Column,
  CreateDateColumn,
  Entity,
  ForeignKey,
  Index,
  PrimaryColumn,
} from 'typeorm';

/**
 * A client an API lets ask for its tokens, and the API's scopes it may
 * have. The API decides who calls it: a client without such a row gets
 * `invalid_target` for that API.
 */
@Entity({ name: 'resource_server_clients' })
@Index('IDX_resource_server_clients_clientId', ['clientId'])
export class ResourceServerClient {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  @ForeignKey('ResourceServer', 'id', {
    name: 'FK_resource_server_clients_resourceServerId',
    onDelete: 'CASCADE',
  })
  resourceServerId!: string;

  /** By the clients table's entity name: this layer sits above clients/ but needs none of it. */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  @ForeignKey('Client', 'id', {
    name: 'FK_resource_server_clients_clientId',
    onDelete: 'CASCADE',
  })
  clientId!: string;

  @Column({ type: 'simple-json' })
  scopes!: string[];

  /**
   * Token exchange (RFC 8693): the audiences (this service's, or another
   * API's identifier) whose users' tokens the client may exchange for this
   * API's; empty, it may not exchange for this API at all.
   */
  @Column({ type: 'simple-json' })
  exchangeFrom!: string[];

  /**
   * Whether its exchanged tokens impersonate the user (no `act` claim);
   * otherwise, the default, they name the client as the actor (delegation).
   */
  @Column({ type: 'boolean' })
  impersonation!: boolean;

  @CreateDateColumn()
  createdAt!: Date;
}
