import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsString,
  Length,
  Matches,
  ValidateNested,
} from 'class-validator';
import { ROLES } from '../../users/user.entity.js';
import type { Role } from '../../users/user.entity.js';

/** Printable text for lists, logs and consent screens: no control characters (and no NUL for PostgreSQL). */
// eslint-disable-next-line no-control-regex
const NO_CONTROL_CHARACTERS = /^[^\u0000-\u001f\u007f-\u009f]*$/;

export class ApiScopeDto {
  /**
   * RFC 6749 §3.3 scope-token characters; unique within the API. Two APIs
   * may define the same name: a token carries one API's scopes only.
   * @example "invoices:read"
   */
  @IsString()
  @Length(1, 64)
  @Matches(/^[\x21\x23-\x5b\x5d-\x7e]+$/, {
    message:
      'name must be printable ASCII without spaces, double quotes or backslashes (RFC 6749 section 3.3)',
  })
  name!: string;

  /** @example "Read the invoices of your account." */
  @IsString()
  @Length(1, 200)
  @Matches(NO_CONTROL_CHARACTERS, {
    message: 'description must not contain control characters',
  })
  description!: string;

  /**
   * The roles whose users may be granted this scope; empty for a scope only
   * clients get, by their registration (`allowedResources`).
   * @example ["user", "admin"]
   */
  @IsArray()
  @ArrayUnique()
  @IsIn(ROLES, { each: true })
  roles!: Role[];
}

export class CreateResourceServerDto {
  /**
   * The API's identifier: the `resource` a token request names (RFC 8707)
   * and the `aud` of its tokens. An absolute URI without query or fragment,
   * usually the API's base URL; compared as an exact string.
   * @example "https://billing.example.com"
   */
  @IsString()
  @Length(1, 512)
  identifier!: string;

  /** @example "Billing API" */
  @IsString()
  @Length(1, 100)
  @Matches(NO_CONTROL_CHARACTERS, {
    message: 'name must not contain control characters',
  })
  name!: string;

  /** The scopes the API defines (at most 50). */
  @IsArray()
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => ApiScopeDto)
  scopes!: ApiScopeDto[];
}
