import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { User } from '../users/user.entity.js';

/** Why a session ended before it expired. */
export type SessionEndReason =
  | 'logout'
  | 'revoked'
  | 'refresh_token_reuse'
  | 'password_changed'
  | 'user_deactivated';

/**
 * One login on one device: a family of refresh tokens (RFC 9700 §4.14),
 * each replacing the one before. Ending the session ends all of them and
 * the access tokens issued in it.
 */
@Entity({ name: 'sessions' })
@Index('IDX_sessions_userId', ['userId'])
export class Session {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid' })
  userId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({
    name: 'userId',
    foreignKeyConstraintName: 'FK_sessions_userId',
  })
  user?: User;

  @Column({ type: 'varchar', length: 64 })
  clientId!: string;

  /** The scopes granted at login; a refresh may narrow them, never widen. */
  @Column({ type: 'varchar', length: 512 })
  scope!: string;

  @Column({ type: 'varchar', length: 512, nullable: true })
  userAgent!: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ipAddress!: string | null;

  @CreateDateColumn()
  createdAt!: Date;

  @Column({ type: Date })
  lastUsedAt!: Date;

  /** When the newest refresh token of the family expires. */
  @Column({ type: Date })
  expiresAt!: Date;

  @Column({ type: Date, nullable: true })
  endedAt!: Date | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  endReason!: SessionEndReason | null;
}
