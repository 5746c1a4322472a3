import type { ExecutionContext } from '@nestjs/common';
import { Injectable } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { requestOrigin } from '../access/actor.js';
import { SecurityEvents } from '../audit/security-events.service.js';
import type { User } from '../users/user.entity.js';
import type { OAuthRequest } from './oauth-client.guard.js';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../config/env.js';
import { MetricsService } from '../metrics/metrics.service.js';
import {
  InvalidGrant,
  InvalidRequest,
  UnsupportedGrantType,
} from './protocol/oauth.errors.js';
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
  private readonly enabled: boolean;

  constructor(
    private readonly audiences: TokenAudiences,
    private readonly metrics: MetricsService,
    private readonly events: SecurityEvents,
    config: ConfigService<AppConfig, true>,
  ) {
    super();
    this.enabled = config.get('PASSWORD_GRANT', { infer: true }) === 'enabled';
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<OAuthRequest>();
    if (request.oauthForm.grant_type !== 'password') return true;
    try {
      if (!this.enabled) {
        await this.events.loginDisabled(
          {
            username: request.oauthForm.username,
            clientId: request.oauthClient.clientId,
          },
          requestOrigin(request),
        );
        throw new UnsupportedGrantType(
          'The password grant is turned off here (RFC 9700 section 2.4): sign in through the authorization code flow.',
        );
      }
      request.tokenTarget = await checkPasswordGrantRequest(
        request.oauthClient,
        request.oauthForm,
        this.audiences,
      );
      return (await super.canActivate(context)) as boolean;
    } catch (refusal) {
      this.metrics.countPasswordGrant(request.oauthClient.clientId, 'refused');
      throw refusal;
    }
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
