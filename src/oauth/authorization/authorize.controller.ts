import { Controller, Get, Post, Req, Res } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../../access/auth.decorators.js';
import type { SignedInBrowser } from '../../browser/browser-sessions.service.js';
import { BrowserSessions } from '../../browser/browser-sessions.service.js';
import { Consents } from '../../browser/consents.service.js';
import { redirectToLogin } from '../../browser/login-redirect.js';
import { consentPage, sendPage } from '../../browser/pages.js';
import type { AppConfig } from '../../config/env.js';
import { OAuthError } from '../protocol/oauth.errors.js';
import { AuthorizationCodes } from './authorization-codes.service.js';
import type {
  AuthorizationOutcome,
  AuthorizationRequest,
} from './authorization-request.js';
import { AuthorizationRequests } from './authorization-request.js';
import {
  originOf,
  redirectToClient,
  sendAuthorizationErrorPage,
} from './authorization-responses.js';
import { HtmlErrorPages } from '../../browser/html-error-pages.decorator.js';

/**
 * The authorization endpoint (RFC 6749 §3.1, §4.1), for browsers: HTML
 * pages and redirects, never a JSON error, so it is left out of the
 * OpenAPI document (docs/api.md describes it).
 */
@ApiExcludeController()
@Public()
@Controller('auth')
export class AuthorizeController {
  private readonly issuer: string;

  constructor(
    private readonly requests: AuthorizationRequests,
    private readonly browsers: BrowserSessions,
    private readonly consents: Consents,
    private readonly codes: AuthorizationCodes,
    config: ConfigService<AppConfig, true>,
  ) {
    this.issuer = config.get('PUBLIC_URL', { infer: true });
  }

  /** Start a sign-in: the login page if needed, consent if needed, then back to the client with a code. */
  @HtmlErrorPages()
  @Get('authorize')
  async authorize(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const outcome = await this.requests.read(
      (request.query ?? {}) as Record<string, unknown>,
    );
    const valid = this.answerInvalid(outcome, reply, 302);
    if (valid === undefined) return;
    const browser = await this.browsers.current(request);
    if (browser === null) return redirectToLogin(reply, request.url);
    await this.decide(valid, browser, reply, 302);
  }

  /** The consent form's answer: the same authorization request, and the person's decision. */
  @HtmlErrorPages()
  @Post('authorize')
  async consent(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const outcome = await this.requests.read(body);
    const valid = this.answerInvalid(outcome, reply, 303);
    if (valid === undefined) return;
    if (!(await this.browsers.checkCsrf(request, body.csrf)))
      return sendAuthorizationErrorPage(
        reply,
        'This form expired or did not come from this site. Go back to the app and start again.',
        403,
      );
    const browser = await this.browsers.current(request);
    if (browser === null) {
      const query = new URLSearchParams(valid.fields).toString();
      return redirectToLogin(reply, `/auth/authorize?${query}`);
    }
    if (body.decision === 'deny')
      return redirectToClient(
        reply,
        valid.redirectUri,
        {
          error: 'access_denied',
          error_description: 'The user did not allow access.',
          state: valid.state,
          iss: this.issuer,
        },
        303,
      );
    if (body.decision !== 'allow')
      return sendAuthorizationErrorPage(
        reply,
        'Choose Allow or Deny on the consent page.',
      );
    await this.decide(valid, browser, reply, 303, true);
  }

  /** Answers an invalid request (a page, or an error at the redirect URI); the valid one is returned. */
  private answerInvalid(
    outcome: AuthorizationOutcome,
    reply: FastifyReply,
    status: 302 | 303,
  ): AuthorizationRequest | undefined {
    if (outcome.kind === 'valid') return outcome.request;
    if (outcome.kind === 'page') {
      sendAuthorizationErrorPage(reply, outcome.message);
      return undefined;
    }
    const { redirectUri, state, error, description } = outcome.error;
    redirectToClient(
      reply,
      redirectUri,
      { error, error_description: description, state, iss: this.issuer },
      status,
    );
    return undefined;
  }

  private async decide(
    valid: AuthorizationRequest,
    { user, csrfToken }: SignedInBrowser,
    reply: FastifyReply,
    status: 302 | 303,
    consented = false,
  ): Promise<void> {
    let scopes: string[];
    try {
      scopes = this.requests.scopesFor(valid, user);
    } catch (refusal) {
      if (!(refusal instanceof OAuthError)) throw refusal;
      return redirectToClient(
        reply,
        valid.redirectUri,
        {
          error: refusal.error,
          error_description: refusal.description,
          state: valid.state,
          iss: this.issuer,
        },
        status,
      );
    }
    const { client, target } = valid;
    const audience = target.audience.identifier;
    if (consented) {
      await this.consents.grant(user.id, client.id, audience, scopes);
    } else if (
      !client.firstParty &&
      !(await this.consents.covers(user.id, client.id, audience, scopes))
    ) {
      return sendPage(
        reply,
        consentPage({
          clientName: client.name,
          username: user.username,
          scopes: scopes.map((name) => ({
            name,
            description: target.audience.describe(name),
          })),
          resourceName: target.audience.resourceServer?.name,
          csrfToken,
          fields: valid.fields,
        }),
        {
          title: `Allow ${client.name}?`,
          formTargets: [originOf(valid.redirectUri)],
        },
      );
    }
    const code = await this.codes.issue({
      clientId: client.id,
      userId: user.id,
      redirectUri: valid.redirectUri,
      codeChallenge: valid.codeChallenge,
      scopes,
      resource: target.audience.resourceServer?.identifier ?? null,
    });
    redirectToClient(
      reply,
      valid.redirectUri,
      { code, state: valid.state, iss: this.issuer },
      status,
    );
  }
}
