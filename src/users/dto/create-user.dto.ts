import { IsString, Validate } from 'class-validator';
import { PasswordPolicyConstraint } from '../credentials/password-policy.constraint.js';
import { IsUsername } from '../username.js';

export class CreateUserDto {
  /**
   * 3–64 letters, digits or `. _ - @ +`. Case-insensitive: stored
   * NFKC-normalised and lower-cased.
   * @example "alice"
   */
  @IsUsername()
  username!: string;

  /**
   * At least PASSWORD_MIN_LENGTH (default 15) characters, at most 72 bytes
   * in UTF-8, not the username, not a common or breached password. No
   * composition rules: a passphrase is best.
   * @example "correct horse battery staple"
   */
  @IsString()
  @Validate(PasswordPolicyConstraint, ['username'])
  password!: string;
}
