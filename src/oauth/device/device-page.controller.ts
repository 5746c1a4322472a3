import { Controller, Get, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../../access/auth.decorators.js';
import type { SignedInBrowser } from '../../browser/browser-sessions.service.js';
import { BrowserSessions } from '../../browser/browser-sessions.service.js';
import {
  deviceCodePage,
  deviceConfirmPage,
  deviceDonePage,
} from '../../browser/device-pages.js';
import { redirectToLogin } from '../../browser/login-redirect.js';
import { errorPage, sendPage } from '../../browser/pages.js';
import { RateLimit } from '../../rate-limiting/rate-limit.decorator.js';
import { OAuthError } from '../protocol/oauth.errors.js';
import type {
  DeviceOffer,
  PendingDeviceAuthorization,
} from './device-flow.service.js';
import { DeviceFlow } from './device-flow.service.js';
import { HtmlErrorPages } from '../../browser/html-error-pages.decorator.js';

const NO_SUCH_CODE =
  'That code is not valid, or it expired. Check the code your device shows, or start again there.';

/**
 * RFC 8628 §3.3: the verification page. The user, signed in to this
 * service in a browser (the hosted login page), types the code their
 * command-line tool shows, sees what the tool asks for, and allows or
 * denies it. Guessing codes is limited per address (§5.1) by the token
 * endpoint's limit, and every form carries the browser session's CSRF token.
 */
@ApiExcludeController()
@Public()
@Controller('device')
export class DevicePageController {
  constructor(
    private readonly browsers: BrowserSessions,
    private readonly deviceFlow: DeviceFlow,
  ) {}

  @HtmlErrorPages()
  @Get()
  async codeForm(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Query('user_code') userCode?: unknown,
  ): Promise<void> {
    const signedIn = await this.browsers.current(request);
    // verification_uri_complete comes back after the sign-in with its code.
    if (signedIn === null) return redirectToLogin(reply, request.url);
    sendPage(
      reply,
      deviceCodePage({
        csrfToken: signedIn.csrfToken,
        username: signedIn.user.username,
        userCode:
          typeof userCode === 'string' ? userCode.slice(0, 32) : undefined,
      }),
      { title: 'Connect a device' },
    );
  }

  @HtmlErrorPages()
  @Post()
  @RateLimit('token')
  async enterCode(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const form = await this.typedCode(request, reply);
    if (form === null) return;
    const { signedIn, typed, offer } = form;
    sendPage(
      reply,
      deviceConfirmPage({
        csrfToken: signedIn.csrfToken,
        username: signedIn.user.username,
        userCode: typed.trim().toUpperCase(),
        clientName: offer.client.name,
        scopes: offer.scopes.map((name) => ({
          name,
          description: offer.audience.describe(name),
        })),
        resourceName: offer.audience.resourceServer?.name,
      }),
      { title: 'Allow this device?' },
    );
  }

  @HtmlErrorPages()
  @Post('decision')
  @RateLimit('token')
  async decide(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const form = await this.typedCode(request, reply);
    if (form === null) return;
    const { signedIn, typed, pending, offer } = form;
    const allowed = fieldOf(request, 'decision') === 'allow';
    const decided = allowed
      ? await this.deviceFlow.approve(pending, signedIn.user)
      : await this.deviceFlow.deny(pending, signedIn.user);
    // Decided meanwhile in another tab, or expired while the page was open.
    if (!decided) return this.codeRefused(reply, signedIn, typed);
    sendPage(reply, deviceDonePage(allowed, offer.client.name), {
      title: allowed ? 'Device connected' : 'Request denied',
    });
  }

  /**
   * A posted form's pending authorization, for its signed-in user, and
   * what approving it would grant; null once the page saying why not
   * (not signed in, a stale form, an unknown code, too much asked) is sent.
   */
  private async typedCode(
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<{
    signedIn: SignedInBrowser;
    typed: string;
    pending: PendingDeviceAuthorization;
    offer: DeviceOffer;
  } | null> {
    const signedIn = await this.signedInWithCsrf(request, reply);
    if (signedIn === null) return null;
    const typed = fieldOf(request, 'user_code');
    const pending = await this.deviceFlow.pending(typed);
    if (pending === null) {
      this.codeRefused(reply, signedIn, typed);
      return null;
    }
    const offer = await this.offerOrRefuse(reply, pending, signedIn);
    return offer === null ? null : { signedIn, typed, pending, offer };
  }

  /** The signed-in browser, if the form is its own; otherwise the page that says why, sent. */
  private async signedInWithCsrf(
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<SignedInBrowser | null> {
    const signedIn = await this.browsers.current(request);
    if (signedIn === null) {
      redirectToLogin(reply, '/device');
      return null;
    }
    if (!(await this.browsers.checkCsrf(request, fieldOf(request, 'csrf')))) {
      sendPage(
        reply,
        errorPage(
          'This form expired',
          'It did not come from this site, or you signed in again since. Open the page again.',
        ),
        { title: 'Form expired', status: 403 },
      );
      return null;
    }
    return signedIn;
  }

  private codeRefused(
    reply: FastifyReply,
    signedIn: SignedInBrowser,
    typed: string,
  ): void {
    sendPage(
      reply,
      deviceCodePage({
        csrfToken: signedIn.csrfToken,
        username: signedIn.user.username,
        userCode: typed.slice(0, 32),
        error: NO_SUCH_CODE,
      }),
      { title: 'Connect a device', status: 400 },
    );
  }

  /** What approving would grant, or the page saying why this user cannot, sent. */
  private async offerOrRefuse(
    reply: FastifyReply,
    pending: PendingDeviceAuthorization,
    signedIn: SignedInBrowser,
  ): Promise<DeviceOffer | null> {
    try {
      const offer = await this.deviceFlow.offer(pending, signedIn.user);
      if (offer !== null) return offer;
    } catch (refusal) {
      if (!(refusal instanceof OAuthError)) throw refusal;
      sendPage(
        reply,
        errorPage(
          'This device asks for too much',
          `It asks for access your account cannot give: ${refusal.description}`,
        ),
        { title: 'Cannot allow', status: 400 },
      );
      return null;
    }
    this.codeRefused(reply, signedIn, '');
    return null;
  }
}

function fieldOf(request: FastifyRequest, name: string): string {
  const value = (request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}
