import {
  Column,
  CreateDateColumn,
  Entity,
  PrimaryColumn,
  Unique,
} from 'typeorm';

/**
 * A key pair that signs access tokens. Kept in the database so that every
 * instance sharing it signs and verifies alike.
 */
@Entity({ name: 'signing_keys' })
@Unique('UQ_signing_keys_generation', ['generation'])
export class SigningKey {
  /** The JWS `kid`: the RFC 7638 thumbprint of the public key. */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  kid!: string;

  /**
   * 1 for the first key, +1 for each rotation. Unique, so two instances
   * that race to create the same generation end up with one key, not two.
   */
  @Column({ type: 'integer' })
  generation!: number;

  @Column({ type: 'varchar', length: 16 })
  algorithm!: string;

  /** SPKI PEM. */
  @Column({ type: 'text' })
  publicKey!: string;

  /**
   * PKCS#8 PEM; null for a key given in JWT_PRIVATE_KEY (its private half
   * stays out of the database) and for a retired key (erased).
   */
  @Column({ type: 'text', nullable: true })
  privateKey!: string | null;

  @CreateDateColumn()
  createdAt!: Date;
}
