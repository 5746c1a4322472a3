import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';

/**
 * The scopes a user let a client have at one audience, so that the next
 * sign-in asking for no more does not ask again. Revocable by the user.
 */
@Entity({ name: 'consents' })
@Index('IDX_consents_clientId', ['clientId'])
export class Consent {
  @PrimaryColumn({ type: 'uuid' })
  @ForeignKey('User', 'id', { name: 'FK_consents_userId', onDelete: 'CASCADE' })
  userId!: string;

  @PrimaryColumn({ type: 'varchar', length: 64 })
  @ForeignKey('Client', 'id', {
    name: 'FK_consents_clientId',
    onDelete: 'CASCADE',
  })
  clientId!: string;

  /** The access token's `aud`: this service's, or a registered API's identifier. */
  @PrimaryColumn({ type: 'varchar', length: 512 })
  audience!: string;

  @Column({ type: 'simple-json' })
  scopes!: string[];

  @Column({ type: Date })
  grantedAt!: Date;
}
