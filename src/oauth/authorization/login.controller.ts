import {
  Controller,
  Get,
  Logger,
  Post,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../../access/auth.decorators.js';
import { BrowserSessions } from '../../browser/browser-sessions.service.js';
import { sameOriginPath } from '../../browser/login-redirect.js';
import type { LoginPageModel } from '../../browser/pages.js';
import {
  loginPage,
  sendPage,
  signedInPage,
  signedOutPage,
} from '../../browser/pages.js';
import { sendAuthorizationErrorPage } from './authorization-responses.js';
import type { AppConfig } from '../../config/env.js';
import { databaseUnavailableCause } from '../../database/unavailable.js';
import { RateLimit } from '../../rate-limiting/rate-limit.decorator.js';
import { LoginDevices } from '../../users/credentials/login-devices.service.js';
import { AuthorizationRequests } from './authorization-request.js';
import { originOf } from './authorization-responses.js';
import type { LoginFormRequest, LoginRefusal } from './login-form.guard.js';
import { LoginFormGuard } from './login-form.guard.js';
import { HtmlErrorPages } from '../../browser/html-error-pages.decorator.js';

/** Where a sign-in without a `return` ends: the page saying who is signed in. */
const HOME = '/login';

/** What the page says for each refusal, and with which status. */
function refusalMessage(refusal: LoginRefusal): {
  status: number;
  message: string;
  field: 'password' | 'form';
  headers?: Record<string, string>;
} {
  switch (refusal.kind) {
    case 'csrf':
      return {
        status: 403,
        message:
          'This form expired or did not come from this site. Please sign in again.',
        field: 'form',
      };
    case 'missing':
      return {
        status: 400,
        message: 'Enter your username and your password.',
        field: 'form',
      };
    case 'wrong':
      return {
        status: 400,
        message:
          'The username or password is wrong, or the account is inactive.',
        field: 'password',
      };
    case 'backoff': {
      const seconds = refusal.retryAfterSeconds;
      return {
        status: 429,
        message: `Too many failed sign-ins for this account. Wait ${seconds} second${seconds === 1 ? '' : 's'}, then try again.`,
        field: 'form',
        headers: { 'retry-after': String(seconds) },
      };
    }
  }
}

/**
 * The hosted login page (server-rendered, no script): a username and a
 * password checked by the password grant's Passport local strategy, so
 * the login back-off, the timing defence and the audit log are the same.
 */
@ApiExcludeController()
@Public()
@Controller()
export class LoginController {
  private readonly logger = new Logger(LoginController.name);
  private readonly registrationOpen: boolean;

  constructor(
    private readonly browsers: BrowserSessions,
    private readonly requests: AuthorizationRequests,
    private readonly devices: LoginDevices,
    config: ConfigService<AppConfig, true>,
  ) {
    this.registrationOpen =
      config.get('REGISTRATION', { infer: true }) === 'open';
  }

  /** The login form, or, for a browser already signed in, where it was going. */
  @HtmlErrorPages()
  @Get('login')
  async loginForm(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const query = (request.query ?? {}) as Record<string, unknown>;
    const returnTo = sameOriginPath(query.return);
    if (query.return !== undefined && returnTo === null)
      return sendAuthorizationErrorPage(
        reply,
        'The address to return to after signing in is not on this site.',
      );
    const browser = await this.browsers.current(request);
    if (browser !== null) {
      if (returnTo !== null)
        return void reply
          .header('cache-control', 'no-store')
          .redirect(returnTo, 303);
      return sendPage(
        reply,
        signedInPage(browser.user.username, browser.csrfToken),
        {
          title: 'Signed in',
        },
      );
    }
    const csrfToken = await this.browsers.csrfTokenFor(request, reply);
    await this.sendLoginPage(reply, { csrfToken, returnTo: returnTo ?? HOME });
  }

  /** Sign in: the password is checked by the local strategy, then the browser gets a new session. */
  @HtmlErrorPages()
  @Post('login')
  @RateLimit('token')
  @UseGuards(LoginFormGuard)
  async login(
    @Req() request: LoginFormRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const returnTo = sameOriginPath(body.return) ?? HOME;
    const user = request.user;
    if (request.loginRefusal !== undefined || !user) {
      const { status, message, field, headers } = refusalMessage(
        request.loginRefusal ?? { kind: 'wrong' },
      );
      const csrfToken = await this.browsers.csrfTokenFor(request, reply);
      return this.sendLoginPage(
        reply,
        {
          csrfToken,
          returnTo,
          username: typeof body.username === 'string' ? body.username : '',
          error: message,
          errorField: field,
        },
        { status, headers },
      );
    }
    await this.browsers.signIn(request, reply, user);
    await this.rememberDevice(request, reply);
    void reply.header('cache-control', 'no-store').redirect(returnTo, 303);
  }

  /** Sign out of this browser (the tokens apps hold are theirs to revoke). */
  @HtmlErrorPages()
  @Post('logout')
  async logout(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (!(await this.browsers.checkCsrf(request, body.csrf)))
      return sendAuthorizationErrorPage(
        reply,
        'This sign-out form expired or did not come from this site; nothing changed.',
        403,
      );
    await this.browsers.end(request, reply);
    sendPage(reply, signedOutPage(), { title: 'Signed out' });
  }

  private async sendLoginPage(
    reply: FastifyReply,
    model: Omit<LoginPageModel, 'registrationOpen'>,
    {
      status,
      headers,
    }: { status?: number; headers?: Record<string, string> } = {},
  ): Promise<void> {
    const pending = await this.pendingAuthorization(model.returnTo);
    sendPage(
      reply,
      loginPage({
        ...model,
        registrationOpen: this.registrationOpen,
        clientName: pending?.clientName,
      }),
      {
        title: 'Sign in',
        status,
        headers,
        formTargets: pending === undefined ? [] : [pending.origin],
      },
    );
  }

  /**
   * The client a sign-in is for, when it returns to an authorization
   * request: named on the page, and its redirect URI's origin allowed as a
   * form's destination (the login's redirects may end there).
   */
  private async pendingAuthorization(
    returnTo: string,
  ): Promise<{ clientName: string; origin: string } | undefined> {
    const url = new URL(returnTo, 'http://return.invalid');
    if (url.pathname !== '/auth/authorize') return undefined;
    const params: Record<string, string | string[]> = {};
    for (const [name, value] of url.searchParams) {
      const previous = params[name];
      params[name] =
        previous === undefined
          ? value
          : [...(Array.isArray(previous) ? previous : [previous]), value];
    }
    const outcome = await this.requests.read(params);
    if (outcome.kind !== 'valid') return undefined;
    return {
      clientName: outcome.request.client.name,
      origin: originOf(outcome.request.redirectUri),
    };
  }

  /** As at the token endpoint: a device cookie, whose failure cannot undo the sign-in. */
  private async rememberDevice(
    request: LoginFormRequest,
    reply: FastifyReply,
  ): Promise<void> {
    try {
      await this.devices.remember(request.user!, request.loginDevice, reply);
    } catch (error) {
      const cause = databaseUnavailableCause(error);
      if (cause === undefined) throw error;
      this.logger.warn(
        `A sign-in's device cookie was not stored (the database: ${cause}); the sign-in stands`,
      );
    }
  }
}
