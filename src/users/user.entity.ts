import {
  Column,
  CreateDateColumn,
  Entity,
  PrimaryGeneratedColumn,
  Unique,
  UpdateDateColumn,
} from 'typeorm';

export const ROLES = ['user', 'admin'] as const;
export type Role = (typeof ROLES)[number];

@Entity({ name: 'users' })
@Unique('UQ_users_username', ['username'])
export class User {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  /** NFKC-normalised and lower-cased, so "Alice" and "alice" are one account. */
  @Column({ type: 'varchar', length: 64 })
  username!: string;

  @Column({ type: 'varchar', length: 60 })
  passwordHash!: string;

  @Column({ type: 'boolean', default: true })
  isActive!: boolean;

  @Column({ type: 'simple-array' })
  roles!: Role[];

  /**
   * Access tokens issued before this instant are void: set when every
   * session of the user must end (password change, deactivation).
   */
  // `Date`, not a name: TypeORM picks each engine's timestamp type.
  @Column({ type: Date, nullable: true })
  tokensValidAfter!: Date | null;

  @CreateDateColumn()
  createdAt!: Date;

  @UpdateDateColumn()
  updatedAt!: Date;
}
