import { IsString } from 'class-validator';

/** The body of `DELETE /users/me`: a token alone does not delete an account. */
export class DeleteCurrentUserDto {
  /** @example "correct horse battery staple" */
  @IsString()
  currentPassword!: string;
}
