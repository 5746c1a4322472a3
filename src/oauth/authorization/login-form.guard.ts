import type { ExecutionContext } from '@nestjs/common';
import { Injectable } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { BrowserSessions } from '../../browser/browser-sessions.service.js';
import { sameOriginPath } from '../../browser/login-redirect.js';
import { ClientsService } from '../../clients/clients.service.js';
import { TooManyRequestsException } from '../../common/http-problem.exception.js';
import type { User } from '../../users/user.entity.js';
import type { LoginDevice } from '../../users/credentials/login-device.entity.js';
import type { AuthenticatedClient } from '../client-authenticator.service.js';
import { PUBLIC_CLIENT_ID } from '../client-authenticator.service.js';
import { asAuthenticatedClient } from '../client-authenticator.service.js';

/** Why the login form did not sign anyone in, for the page to say. */
export type LoginRefusal =
  | { kind: 'csrf' }
  | { kind: 'missing' }
  | { kind: 'wrong' }
  | { kind: 'backoff'; retryAfterSeconds: number };

export interface LoginFormRequest extends FastifyRequest {
  user?: User | null;
  loginRefusal?: LoginRefusal;
  /** Read by LocalStrategy, as at the token endpoint: the client the sign-in is for, in the audit log. */
  oauthClient: AuthenticatedClient;
  loginDevice?: LoginDevice | null;
}

/**
 * The login form's password check: the same Passport local strategy as the
 * password grant (login back-off, timing defence, audit), after the form's
 * CSRF token. Refusals do not throw: they are left on the request for the
 * page to explain.
 */
@Injectable()
export class LoginFormGuard extends AuthGuard('local') {
  constructor(
    private readonly browsers: BrowserSessions,
    private readonly clients: ClientsService,
  ) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<LoginFormRequest>();
    const body = (request.body ?? {}) as Record<string, unknown>;
    // Before the password: a forged form must not cost a login attempt, nor reveal anything.
    if (!(await this.browsers.checkCsrf(request, body.csrf))) {
      request.loginRefusal = { kind: 'csrf' };
      return true;
    }
    if (
      typeof body.username !== 'string' ||
      typeof body.password !== 'string'
    ) {
      request.loginRefusal = { kind: 'missing' };
      return true;
    }
    request.oauthClient = await this.clientSignedInTo(body.return);
    return (await super.canActivate(context)) as boolean;
  }

  /** The client whose authorization request the login returns to; the public client for none. */
  private async clientSignedInTo(
    returnTo: unknown,
  ): Promise<AuthenticatedClient> {
    const path = sameOriginPath(returnTo);
    const url = path === null ? null : new URL(path, 'http://return.invalid');
    const clientId =
      url?.pathname === '/auth/authorize'
        ? url.searchParams.get('client_id')
        : null;
    const client =
      clientId === null ? null : await this.clients.findById(clientId);
    return client === null
      ? { clientId: PUBLIC_CLIENT_ID, confidential: false, client: null }
      : asAuthenticatedClient(client);
  }

  override handleRequest<TUser = User>(
    error: Error | null,
    user: TUser | false | null,
    info: { message?: string } | undefined,
    context: ExecutionContext,
  ): TUser | null {
    const request = context.switchToHttp().getRequest<LoginFormRequest>();
    if (error instanceof TooManyRequestsException) {
      const headers = error.headers as Record<string, string>;
      request.loginRefusal = {
        kind: 'backoff',
        retryAfterSeconds: Number(headers['Retry-After'] ?? '1'),
      };
      return null;
    }
    if (error) throw error;
    if (user) return user;
    request.loginRefusal = {
      kind: info?.message === 'Missing credentials' ? 'missing' : 'wrong',
    };
    return null;
  }
}
