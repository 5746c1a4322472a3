import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * A DPoP proof already used (RFC 9449 §11.1), remembered until its `iat`
 * leaves the accepted window, after which the proof is refused anyway.
 */
@Entity({ name: 'dpop_proof_jtis' })
@Index('IDX_dpop_proof_jtis_expiresAt', ['expiresAt'])
export class DpopProofJti {
  /** Hex SHA-256 of the key's thumbprint and the `jti`. */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Column({ type: Date })
  expiresAt!: Date;
}
