import { IsString } from 'class-validator';

export class ChangePasswordDto {
  /** @example "correct horse battery staple" */
  @IsString()
  currentPassword!: string;

  /**
   * The same rules as at registration. Every session ends, this one too.
   * @example "a different long passphrase entirely"
   */
  @IsString()
  newPassword!: string;
}
