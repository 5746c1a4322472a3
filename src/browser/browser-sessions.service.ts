import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { LessThan, Repository } from 'typeorm';
import { hashSecret, newSecret } from '../common/secrets.js';
import type { AppConfig } from '../config/env.js';
import { User } from '../users/user.entity.js';
import { BrowserSession } from './browser-session.entity.js';

/** A browser in which someone is signed in to this server. */
export interface SignedInBrowser {
  user: User;
  session: BrowserSession;
  /** The CSRF token of this session's forms. */
  csrfToken: string;
}

/** Moving the idle expiry forward at most this often spares a write per request. */
const RENEWAL_STEP_MS = 60_000;

/**
 * The authorization server's own session with a browser (the login page's,
 * not a client's): a cookie holding 256 random bits, whose SHA-256 names a
 * row, so that any instance reads it and a copy of the table opens none.
 * HttpOnly and SameSite=Lax (a client's redirect to /auth/authorize is a
 * top-level GET, which carries it), path `/`, and with https `Secure` and
 * the `__Host-` prefix. A login replaces it with a new one (no session
 * fixation); it ends after BROWSER_SESSION_TTL idle, BROWSER_SESSION_MAX_AGE
 * after the login, at sign-out, or when the password changes.
 *
 * The CSRF token of its forms is derived from the cookie's secret, which
 * only this browser holds: a page on another site can neither read it
 * nor compute it, and a login (a new secret) makes every older form stale.
 */
@Injectable()
export class BrowserSessions {
  readonly cookieName: string;
  private readonly secure: boolean;
  private readonly idleMs: number;
  private readonly maxAgeMs: number;

  constructor(
    @InjectRepository(BrowserSession)
    private readonly sessions: Repository<BrowserSession>,
    @InjectRepository(User) private readonly users: Repository<User>,
    config: ConfigService<AppConfig, true>,
  ) {
    const publicUrl = new URL(config.get('PUBLIC_URL', { infer: true }));
    this.secure = publicUrl.protocol === 'https:';
    this.cookieName = this.secure ? '__Host-auth-session' : 'auth-session';
    this.idleMs = config.get('BROWSER_SESSION_TTL', { infer: true }) * 1000;
    this.maxAgeMs =
      config.get('BROWSER_SESSION_MAX_AGE', { infer: true }) * 1000;
  }

  /**
   * Who is signed in in this browser, or null: no cookie, an unknown or
   * expired one, a session nobody signed in to, or a user who since was
   * deactivated or changed their password. Renews the idle expiry.
   */
  async current(request: FastifyRequest): Promise<SignedInBrowser | null> {
    const found = await this.live(request);
    if (found === null || found.session.userId === null) return null;
    const { session, secret } = found;
    const user = await this.users.findOneBy({ id: session.userId! });
    if (
      user === null ||
      !user.isActive ||
      session.authenticatedAt === null ||
      session.authenticatedAt.getTime() + this.maxAgeMs <= Date.now() ||
      (user.tokensValidAfter !== null &&
        session.authenticatedAt < user.tokensValidAfter)
    )
      return null;
    await this.renew(session);
    return { user, session, csrfToken: csrfTokenOf(secret) };
  }

  /**
   * The CSRF token for a form shown to this browser: of its session, or
   * of a new anonymous one whose cookie is set on `reply` (the login
   * form's, before anyone signs in).
   */
  async csrfTokenFor(
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<string> {
    const found = await this.live(request);
    if (found !== null) {
      await this.renew(found.session);
      return csrfTokenOf(found.secret);
    }
    const secret = await this.create(null, reply);
    return csrfTokenOf(secret);
  }

  /** Whether `token` is the CSRF token of this browser's live session. */
  async checkCsrf(request: FastifyRequest, token: unknown): Promise<boolean> {
    if (typeof token !== 'string' || token === '') return false;
    const found = await this.live(request);
    if (found === null) return false;
    const expected = Buffer.from(csrfTokenOf(found.secret));
    const presented = Buffer.from(token);
    return (
      expected.length === presented.length &&
      timingSafeEqual(expected, presented)
    );
  }

  /**
   * After a login: the browser's old session (signed in or not) is
   * deleted and a new one, with a new cookie, starts for `user`, so that a
   * session id planted before the login is worth nothing after it.
   */
  async signIn(
    request: FastifyRequest,
    reply: FastifyReply,
    user: User,
  ): Promise<string> {
    await this.deletePresented(request);
    const secret = await this.create(user, reply);
    return csrfTokenOf(secret);
  }

  /** Sign-out: the session row goes, and the cookie with it. */
  async end(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    await this.deletePresented(request);
    void reply.clearCookie(this.cookieName, this.cookieOptions());
  }

  private async live(
    request: FastifyRequest,
  ): Promise<{ session: BrowserSession; secret: string } | null> {
    const secret = request.cookies[this.cookieName];
    if (secret === undefined || secret === '') return null;
    const session = await this.sessions.findOneBy({ id: hashSecret(secret) });
    if (session === null || session.expiresAt.getTime() <= Date.now())
      return null;
    return { session, secret };
  }

  private async create(
    user: User | null,
    reply: FastifyReply,
  ): Promise<string> {
    const now = Date.now();
    // Each new session sweeps the expired ones: an index range, no timer on any instance.
    await this.sessions.delete({ expiresAt: LessThan(new Date(now)) });
    const secret = newSecret();
    await this.sessions.insert({
      id: hashSecret(secret),
      userId: user?.id ?? null,
      authenticatedAt: user === null ? null : new Date(now),
      createdAt: new Date(now),
      expiresAt: new Date(now + this.idleMs),
    });
    // A session cookie for the browser: the server decides when it ends.
    void reply.setCookie(this.cookieName, secret, this.cookieOptions());
    return secret;
  }

  private async renew(session: BrowserSession): Promise<void> {
    const expiresAt = Date.now() + this.idleMs;
    if (expiresAt - session.expiresAt.getTime() < RENEWAL_STEP_MS) return;
    session.expiresAt = new Date(expiresAt);
    await this.sessions.update(session.id, { expiresAt: session.expiresAt });
  }

  private async deletePresented(request: FastifyRequest): Promise<void> {
    const secret = request.cookies[this.cookieName];
    if (secret !== undefined && secret !== '')
      await this.sessions.delete({ id: hashSecret(secret) });
  }

  private cookieOptions() {
    return {
      httpOnly: true,
      secure: this.secure,
      sameSite: 'lax' as const,
      path: '/',
    };
  }
}

function csrfTokenOf(secret: string): string {
  return createHash('sha256')
    .update(`csrf\0${secret}`, 'utf8')
    .digest('base64url');
}
