import type { ExecutionContext } from '@nestjs/common';
import { Injectable } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import type { User } from '../users/user.entity.js';
import type { OAuthRequest } from './oauth-client.guard.js';
import { InvalidGrant, InvalidRequest } from './protocol/oauth.errors.js';
import { checkPasswordGrantRequest } from './token-grants.service.js';
import { TokenAudiences } from './token-audiences.service.js';

/**
 * For the password grant only (RFC 6749 §4.3.2), the resource owner's
 * credentials through Passport's local strategy; runs after
 * OAuthClientGuard, once what does not depend on the password has passed.
 * Passport's failures become RFC 6749 errors.
 */
@Injectable()
export class PasswordGrantGuard extends AuthGuard('local') {
  constructor(private readonly audiences: TokenAudiences) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<OAuthRequest>();
    if (request.oauthForm.grant_type !== 'password') return true;
    request.tokenTarget = await checkPasswordGrantRequest(
      request.oauthClient,
      request.oauthForm,
      this.audiences,
    );
    return (await super.canActivate(context)) as boolean;
  }

  override handleRequest<TUser = User>(
    error: Error | null,
    user: TUser | false | null,
    info: { message?: string } | undefined,
  ): TUser {
    if (error) throw error;
    if (user) return user;
    if (info?.message === 'Missing credentials') {
      throw new InvalidRequest(
        'The password grant needs username and password.',
      );
    }
    throw new InvalidGrant(
      'The username or password is wrong, or the account is inactive.',
    );
  }
}
