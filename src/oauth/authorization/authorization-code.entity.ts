import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';

/**
 * An authorization code (RFC 6749 §4.1.2), bound to everything the token
 * request must repeat or prove: the client, the redirect URI, the PKCE
 * challenge (RFC 7636 §4.4), and what the user granted. Spent by a
 * conditional update, so that of two instances only one redeems it.
 */
@Entity({ name: 'authorization_codes' })
@Index('IDX_authorization_codes_expiresAt', ['expiresAt'])
export class AuthorizationCode {
  /** Hex SHA-256 of the code. */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Column({ type: 'varchar', length: 64 })
  @ForeignKey('Client', 'id', {
    name: 'FK_authorization_codes_clientId',
    onDelete: 'CASCADE',
  })
  clientId!: string;

  @Column({ type: 'uuid' })
  @ForeignKey('User', 'id', {
    name: 'FK_authorization_codes_userId',
    onDelete: 'CASCADE',
  })
  userId!: string;

  @Column({ type: 'varchar', length: 2000 })
  redirectUri!: string;

  /** RFC 7636 §4.2: BASE64URL(SHA256(code_verifier)), S256 being the only method. */
  @Column({ type: 'varchar', length: 128 })
  codeChallenge!: string;

  @Column({ type: 'text' })
  scope!: string;

  /** The API (RFC 8707 resource) the scopes belong to; null for this service. */
  @Column({ type: 'varchar', length: 512, nullable: true })
  resource!: string | null;

  /** The session its redemption started: a replay of the code ends it (RFC 6749 §4.1.2). */
  @Column({ type: 'uuid', nullable: true })
  sessionId!: string | null;

  @Column({ type: Date })
  createdAt!: Date;

  @Column({ type: Date })
  expiresAt!: Date;

  @Column({ type: Date, nullable: true })
  usedAt!: Date | null;
}
