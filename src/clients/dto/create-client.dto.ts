import {
  ArrayUnique,
  IsArray,
  IsIn,
  IsString,
  Length,
  Matches,
} from 'class-validator';
import { SCOPES } from '../../access/scopes.js';
import type { ClientGrantType } from '../client.entity.js';
import { CLIENT_GRANT_TYPES } from '../client.entity.js';

export class CreateClientDto {
  /**
   * A name people recognise in lists and logs.
   * @example "billing-service"
   */
  @IsString()
  @Length(1, 100)
  // It is shown in lists and written to logs, where a control character could forge a line;
  // PostgreSQL text cannot hold a NUL. Spelled out: \p{Cc} is not in every language's regex.
  // eslint-disable-next-line no-control-regex
  @Matches(/^[^\u0000-\u001f\u007f-\u009f]*$/, {
    message: 'name must not contain control characters',
  })
  name!: string;

  /**
   * The scopes the client may request.
   * @example ["users:read"]
   */
  @IsArray()
  @ArrayUnique()
  @IsIn(Object.keys(SCOPES), { each: true })
  allowedScopes!: string[];

  /**
   * The grants the client may use; `client_credentials` for a service
   * acting on its own behalf.
   * @example ["client_credentials"]
   */
  @IsArray()
  @ArrayUnique()
  @IsIn(CLIENT_GRANT_TYPES, { each: true })
  allowedGrantTypes!: ClientGrantType[];
}
