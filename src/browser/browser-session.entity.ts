import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';

/**
 * The authorization server's own session with a browser: first anonymous
 * (it carries the login form's CSRF token), then, after a login, a signed
 * in user's, under a new id. Kept in the database so that every instance
 * knows it.
 */
@Entity({ name: 'browser_sessions' })
@Index('IDX_browser_sessions_expiresAt', ['expiresAt'])
@Index('IDX_browser_sessions_userId', ['userId'])
export class BrowserSession {
  /** Hex SHA-256 of the cookie's secret. */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  /** Null until someone signs in. */
  @Column({ type: 'uuid', nullable: true })
  @ForeignKey('User', 'id', {
    name: 'FK_browser_sessions_userId',
    onDelete: 'CASCADE',
  })
  userId!: string | null;

  /** When the password was checked; a password change after it ends the session. */
  @Column({ type: Date, nullable: true })
  authenticatedAt!: Date | null;

  @Column({ type: Date })
  createdAt!: Date;

  /** Moved forward as the browser uses it: an idle session ends. */
  @Column({ type: Date })
  expiresAt!: Date;
}
