import {
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { User } from '../user.entity.js';

/**
 * A device that logged in to an account before (OWASP "Slow Brute Force
 * Attacks", device cookies): its login attempts have a back-off of their
 * own, so guesses at the username cannot keep its owner out. The cookie
 * holds 256 random bits; only their SHA-256 is stored, as for refresh
 * tokens, so a copy of the database lets nobody present one.
 */
@Entity({ name: 'login_devices' })
@Index('IDX_login_devices_userId_expiresAt', ['userId', 'expiresAt'])
export class LoginDevice {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  /** Hex SHA-256 of the cookie's secret. */
  @Index('UQ_login_devices_secretHash', { unique: true })
  @Column({ type: 'varchar', length: 64 })
  secretHash!: string;

  @Column({ type: 'uuid' })
  userId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({
    name: 'userId',
    foreignKeyConstraintName: 'FK_login_devices_userId',
  })
  user?: User;

  /**
   * Set by the app, to the millisecond, not by the database's default
   * (whole seconds on SQLite): it is compared with the user's
   * tokensValidAfter, which a password change sets.
   */
  @Column({ type: Date })
  createdAt!: Date;

  @Column({ type: Date })
  expiresAt!: Date;
}
