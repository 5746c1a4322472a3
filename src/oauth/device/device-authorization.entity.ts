import {
  Column,
  CreateDateColumn,
  Entity,
  ForeignKey,
  Index,
  PrimaryGeneratedColumn,
} from 'typeorm';

/** Where a device authorization stands (RFC 8628 §3.5). */
export type DeviceAuthorizationStatus =
  'pending' | 'approved' | 'denied' | 'redeemed';

/**
 * One device authorization request (RFC 8628): a command-line tool waits
 * with the device code while its user types the user code on the /device
 * page. Rows live until they expire, then the hourly purge drops them.
 */
@Entity({ name: 'device_authorizations' })
@Index('UQ_device_authorizations_deviceCodeHash', ['deviceCodeHash'], {
  unique: true,
})
@Index('UQ_device_authorizations_userCode', ['userCode'], { unique: true })
@Index('IDX_device_authorizations_expiresAt', ['expiresAt'])
export class DeviceAuthorization {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  /** Hex SHA-256 of the device code: the tool's secret while it polls. */
  @Column({ type: 'varchar', length: 64 })
  deviceCodeHash!: string;

  /** The user code, normalised: eight letters, no dash. */
  @Column({ type: 'varchar', length: 8 })
  userCode!: string;

  @Column({ type: 'varchar', length: 64 })
  @ForeignKey('Client', 'id', {
    name: 'FK_device_authorizations_clientId',
    onDelete: 'CASCADE',
  })
  clientId!: string;

  /** The scope the tool asked for; null for everything the user and client may have. */
  @Column({ type: 'text', nullable: true })
  requestedScope!: string | null;

  /** The API (RFC 8707 resource) the tokens are for; null for this service. */
  @Column({ type: 'varchar', length: 512, nullable: true })
  resource!: string | null;

  @Column({ type: 'varchar', length: 16 })
  status!: DeviceAuthorizationStatus;

  /** The user who approved or denied it. */
  @Column({ type: 'uuid', nullable: true })
  @ForeignKey('User', 'id', {
    name: 'FK_device_authorizations_userId',
    onDelete: 'CASCADE',
  })
  userId!: string | null;

  /** The scopes granted at approval. */
  @Column({ type: 'text', nullable: true })
  grantedScope!: string | null;

  /** Seconds the tool must wait between two polls; grows by 5 at each slow_down (§3.5). */
  @Column({ type: 'integer' })
  pollInterval!: number;

  @Column({ type: Date, nullable: true })
  lastPolledAt!: Date | null;

  @Column({ type: Date, nullable: true })
  decidedAt!: Date | null;

  @Column({ type: Date })
  expiresAt!: Date;

  @CreateDateColumn()
  createdAt!: Date;
}
