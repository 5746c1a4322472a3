import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * A client assertion already used (RFC 7523 §3, item 7), remembered until
 * it expires. The primary key makes the database the referee between
 * instances: the second insert of one assertion fails.
 */
@Entity({ name: 'client_assertion_jtis' })
@Index('IDX_client_assertion_jtis_expiresAt', ['expiresAt'])
export class ClientAssertionJti {
  /** Hex SHA-256 of the client id and the `jti`. */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Column({ type: Date })
  expiresAt!: Date;
}
