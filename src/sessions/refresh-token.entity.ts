import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
} from 'typeorm';
import { Session } from './session.entity.js';

/**
 * A refresh token, stored only as its SHA-256: the token is 256 random
 * bits, so a fast hash is as strong as a slow one and costs no login time.
 */
@Entity({ name: 'refresh_tokens' })
@Index('IDX_refresh_tokens_sessionId', ['sessionId'])
export class RefreshToken {
  /** Hex SHA-256 of the token. */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  tokenHash!: string;

  @Column({ type: 'uuid' })
  sessionId!: string;

  @ManyToOne(() => Session, { onDelete: 'CASCADE' })
  @JoinColumn({
    name: 'sessionId',
    foreignKeyConstraintName: 'FK_refresh_tokens_sessionId',
  })
  session?: Session;

  @CreateDateColumn()
  createdAt!: Date;

  @Column({ type: Date })
  expiresAt!: Date;

  /** Set when the token was exchanged: presenting it again is reuse. */
  @Column({ type: Date, nullable: true })
  spentAt!: Date | null;
}
