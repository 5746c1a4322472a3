import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-local';
import { requestOrigin } from '../access/actor.js';
import { SecurityEvents } from '../audit/security-events.service.js';
import { TooManyRequestsException } from '../common/http-problem.exception.js';
import { databaseUnavailableCause } from '../database/unavailable.js';
import type { User } from '../users/user.entity.js';
import { normalizeUsername } from '../users/username.js';
import { CredentialChecker } from '../users/credential-checker.service.js';
import { LoginDevices } from '../users/credentials/login-devices.service.js';
import { LoginBackoff } from '../users/credentials/login-backoff.service.js';
import type { OAuthRequest } from './oauth-client.guard.js';

/** The resource owner's username and password of the password grant (RFC 6749 §4.3). */
@Injectable()
export class LocalStrategy extends PassportStrategy(Strategy, 'local') {
  constructor(
    private readonly credentials: CredentialChecker,
    private readonly events: SecurityEvents,
    private readonly backoff: LoginBackoff,
    private readonly devices: LoginDevices,
  ) {
    super({
      usernameField: 'username',
      passwordField: 'password',
      session: false,
      // The failure goes to the audit log with the request's origin and client.
      passReqToCallback: true,
    });
  }

  async validate(
    request: OAuthRequest,
    username: string,
    password: string,
  ): Promise<User | null> {
    const origin = requestOrigin(request);
    const clientId = request.oauthClient.clientId;
    const device = await this.devices.recognize(request, username);
    // The token response renews this device's cookie.
    request.loginDevice = device;
    // Before bcrypt: a username that must wait costs the server nothing.
    const waitMs = await this.backoff.startAttempt(username, device?.id);
    if (waitMs !== undefined) {
      await this.events.loginRefused(
        {
          username,
          clientId,
          bucket:
            device === null
              ? `username ${normalizeUsername(username)}`
              : `device ${device.id}`,
        },
        origin,
      );
      throw new TooManyRequestsException(
        'Too many failed logins for this username.',
        waitMs,
      );
    }
    const check = await this.credentials
      .checkCredentials(username, password)
      .catch(async (error: unknown) => {
        // The database did not answer, so the password was not found wrong:
        // the attempt gives its count back. Otherwise every owner whose
        // client retried through an outage would find their username held
        // back once the database is back, with a wait doubling per retry.
        if (databaseUnavailableCause(error) !== undefined) {
          await this.backoff.abandoned(username, device?.id);
        }
        throw error;
      });
    if (check.failure === undefined) {
      await this.backoff.succeeded(username, device?.id);
      return check.user;
    }
    await this.events.loginFailed(
      { username, user: check.user, clientId, reason: check.failure },
      origin,
    );
    return null;
  }
}
