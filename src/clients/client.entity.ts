import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

export const CLIENT_GRANT_TYPES = [
  'client_credentials',
  'password',
  'refresh_token',
] as const;
export type ClientGrantType = (typeof CLIENT_GRANT_TYPES)[number];

/** A confidential client (RFC 6749 §2.1): another service of the company. */
@Entity({ name: 'clients' })
export class Client {
  /** The `client_id`. */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  /** Hex SHA-256 of the secret: 256 random bits need no slow hash. */
  @Column({ type: 'varchar', length: 64 })
  secretHash!: string;

  @Column({ type: 'simple-array' })
  allowedScopes!: string[];

  @Column({ type: 'simple-array' })
  allowedGrantTypes!: ClientGrantType[];

  @CreateDateColumn()
  createdAt!: Date;
}
