import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsObject,
  IsString,
  Length,
  Matches,
} from 'class-validator';
import { SCOPES } from '../../access/scopes.js';
import { IsOmittable } from '../../common/validation.js';
import type { ClientGrantType, ClientType } from '../client.entity.js';
import { CLIENT_GRANT_TYPES, CLIENT_TYPES } from '../client.entity.js';
import { MAX_REDIRECT_URIS } from '../redirect-uris.js';
import { ClientJwksDto } from './client-jwks.dto.js';

export const CLIENT_AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'none',
] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

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
   * acting on its own behalf, `authorization_code` (with `refresh_token`)
   * for an app whose users sign in on this server's login page.
   * @example ["client_credentials"]
   */
  @IsArray()
  @ArrayUnique()
  @IsIn(CLIENT_GRANT_TYPES, { each: true })
  allowedGrantTypes!: ClientGrantType[];

  /**
   * How the client authenticates at the token, revocation and
   * introspection endpoints (RFC 7591 §2). With a secret (the default;
   * `client_secret_basic` and `client_secret_post` both accept it either
   * way) or, with `private_key_jwt`, with JWTs signed by a key in `jwks`
   * (RFC 7523 §2.2): such a client has no secret. `none` for a public
   * client, and only for one: it sends its `client_id` alone.
   * @example "private_key_jwt"
   */
  @IsOmittable()
  @IsIn(CLIENT_AUTH_METHODS)
  tokenEndpointAuthMethod?: ClientAuthMethod;

  /**
   * The client's public keys, for `private_key_jwt` only (and required
   * with it). Keys are not fetched from a `jwks_uri`.
   * @example {"keys":[{"kty":"EC","crv":"P-256","kid":"billing-2026-12","alg":"ES256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}
   */
  @IsOmittable()
  @IsObject()
  jwks?: ClientJwksDto;

  /**
   * RFC 9449 §5.2 (`dpop_bound_access_tokens`): every token request of the
   * client must carry a DPoP proof, so each of its access tokens is bound to
   * a key. Off by default.
   * @example false
   */
  @IsOmittable()
  @IsBoolean()
  dpopBoundAccessTokens?: boolean;

  /**
   * RFC 6749 §2.1: `confidential` (the default) keeps a secret or keys;
   * `public` (a native or browser app) has none, authenticates with its
   * `client_id` alone and must use PKCE. A public client may use only the
   * `authorization_code` and `refresh_token` grants.
   * @example "public"
   */
  @IsOmittable()
  @IsIn(CLIENT_TYPES)
  clientType?: ClientType;

  /**
   * The redirect URIs of the `authorization_code` grant, each compared as
   * a string with the one a request names: https, or for a native app
   * `http://127.0.0.1` or `http://[::1]` with any port (RFC 8252 §7.3); no
   * fragment, no `localhost`. Required with `authorization_code`.
   * @example ["http://127.0.0.1/callback"]
   */
  @IsOmittable()
  @IsArray()
  @ArrayUnique()
  @ArrayMaxSize(MAX_REDIRECT_URIS)
  @IsString({ each: true })
  redirectUris?: string[];

  /**
   * The company's own app: people signing in to it are not asked to
   * consent to its scopes. Off by default.
   * @example false
   */
  @IsOmittable()
  @IsBoolean()
  firstParty?: boolean;
}
