import { Injectable } from '@nestjs/common';
import type { Actor } from '../access/actor.js';
import { SecurityEvents } from '../audit/security-events.service.js';
import type { ClientGrantType } from '../clients/client.entity.js';
import type { RefreshFailure } from '../sessions/refresh-token-rotation.service.js';
import { RefreshTokenRotation } from '../sessions/refresh-token-rotation.service.js';
import { SessionEnder } from '../sessions/session-ender.service.js';
import type { Session } from '../sessions/session.entity.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { LoginSessions } from '../users/login-sessions.service.js';
import type { Role, User } from '../users/user.entity.js';
import { UsersService } from '../users/users.service.js';
import { AccessTokenService } from './access-token.service.js';
import type { AuthenticatedClient } from './client-authenticator.service.js';
import { ClientAuthenticator } from './client-authenticator.service.js';
import {
  InvalidGrant,
  InvalidRequest,
  InvalidScope,
  InvalidTarget,
  UnauthorizedClient,
} from './protocol/oauth.errors.js';
import type { TokenResponseDto } from './protocol/token-response.dto.js';
import type { VerifiedDpopProof } from '../access/dpop-proof-verification.js';
import { narrowScopes, parseScope } from '../access/scopes.js';
import type { TokenAudience, TokenTarget } from './token-audiences.service.js';
import { TokenAudiences } from './token-audiences.service.js';
import { MetricsService } from '../metrics/metrics.service.js';

const REFRESH_FAILURES: Record<RefreshFailure, string> = {
  unknown: 'The refresh token is invalid.',
  other_client: 'The refresh token is invalid.',
  expired: 'The refresh token expired; log in again.',
  ended: 'The session of this refresh token has ended; log in again.',
  reused:
    'The refresh token was already used; the session has ended. Log in again.',
};

/** What each grant type issues, once the request and its client are authenticated. */
@Injectable()
export class TokenGrantsService {
  constructor(
    private readonly accessTokens: AccessTokenService,
    private readonly sessions: SessionsService,
    private readonly logins: LoginSessions,
    private readonly rotation: RefreshTokenRotation,
    private readonly ender: SessionEnder,
    private readonly users: UsersService,
    private readonly clients: ClientAuthenticator,
    private readonly events: SecurityEvents,
    private readonly audiences: TokenAudiences,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * RFC 6749 §4.3: the resource owner's own credentials start a session.
   * PasswordGrantGuard has already refused what does not depend on the user
   * (checkPasswordGrantRequest), before the password was checked, and
   * resolved the `target`: this service, or the API `resource` named.
   * Counted per client, granted or refused, so that an operator sees who
   * still uses the grant before turning it off (PASSWORD_GRANT).
   */
  async passwordGrant(
    user: User,
    client: AuthenticatedClient,
    target: TokenTarget,
    requestedScope: string | undefined,
    actor: Actor,
    dpop?: VerifiedDpopProof,
  ): Promise<TokenResponseDto> {
    try {
      const response = await this.startPasswordSession(
        user,
        client,
        target,
        requestedScope,
        actor,
        dpop,
      );
      this.metrics.countPasswordGrant(client.clientId, 'granted');
      return response;
    } catch (refusal) {
      this.metrics.countPasswordGrant(client.clientId, 'refused');
      throw refusal;
    }
  }

  private async startPasswordSession(
    user: User,
    client: AuthenticatedClient,
    target: TokenTarget,
    requestedScope: string | undefined,
    actor: Actor,
    dpop: VerifiedDpopProof | undefined,
  ): Promise<TokenResponseDto> {
    const { audience } = target;
    let scopes: string[];
    try {
      scopes = grantScopes(
        requestedScope,
        userScopesAt(target, user.roles),
        audience,
      );
    } catch (refusal) {
      // Only the user's roles can refuse here (the rest was checked before the
      // password): the password was right, so the attempt must leave a trace.
      if (refusal instanceof InvalidScope) {
        await this.events.loginFailed(
          {
            username: user.username,
            user,
            clientId: client.clientId,
            reason: 'scope_not_allowed',
          },
          actor,
        );
      }
      throw refusal;
    }
    const started = await this.logins.start(
      user,
      client.clientId,
      {
        scopes,
        resource: audience.resourceServer?.identifier ?? null,
        grantType: 'password',
      },
      actor,
      refreshTokenBinding(client, dpop),
    );
    if (started === null) {
      await this.events.loginFailed(
        {
          username: user.username,
          user,
          clientId: client.clientId,
          reason: 'superseded',
        },
        actor,
      );
      throw new InvalidGrant(
        'The username or password is wrong, or the account is inactive.',
      );
    }
    return this.respond(
      user.id,
      client.clientId,
      { scopes, audience },
      started.session.id,
      started.refreshToken,
      dpop,
    );
  }

  /**
   * RFC 6749 §6 with rotation (RFC 9700 §4.14.2): the presented token is
   * spent and a successor issued. Scope may narrow, never widen (§6), and
   * never beyond what the user's roles allow today. With `resource`, the
   * access token is for that API instead (RFC 8707 §2.2).
   */
  async refreshGrant(
    refreshToken: string | undefined,
    client: AuthenticatedClient,
    requestedScope: string | undefined,
    resources: readonly string[],
    actor: Actor,
    dpop?: VerifiedDpopProof,
  ): Promise<TokenResponseDto> {
    if (refreshToken === undefined)
      throw new InvalidRequest('refresh_token is required.');
    requireGrantType(client, 'refresh_token');
    // A token that would be refreshed has its scope checked first, so a bad scope does not cost
    // the client its token. Any other token goes straight to rotate(), which refuses it and, for
    // a spent one, ends the family: the scope must tell nothing about a token, nor shield reuse.
    const presented = await this.sessions.presentedRefreshToken(
      refreshToken,
      client.clientId,
    );
    // RFC 9449 §5: a bound token is refused before anything else about it is
    // decided, so that whoever holds it without the key cannot spend it, and
    // so cannot end the session as reuse either.
    const boundTo = presented?.session.dpopJkt ?? null;
    if (
      boundTo !== null &&
      presented?.state !== 'other_client' &&
      dpop?.jkt !== boundTo
    ) {
      throw new InvalidGrant(
        'The refresh token is bound to a DPoP key: send a DPoP proof made with that key.',
      );
    }
    const user = presented
      ? await this.users.findById(presented.session.userId)
      : null;
    const grant =
      presented?.state === 'live' && user
        ? await this.refreshedGrant(
            presented.session,
            user,
            client,
            resources,
            requestedScope,
          )
        : undefined;

    const rotation = await this.rotation.rotate(
      presented,
      client.clientId,
      user,
      actor,
    );
    if (!rotation.ok) throw new InvalidGrant(REFRESH_FAILURES[rotation.reason]);
    if (user === null || grant === undefined)
      throw new InvalidGrant(REFRESH_FAILURES.unknown);
    if (!user.isActive) {
      await this.ender.end(
        user,
        rotation.session.id,
        'user_deactivated',
        actor,
      );
      throw new InvalidGrant(REFRESH_FAILURES.ended);
    }
    this.events.tokenIssued('refresh_token');
    return this.respond(
      user.id,
      client.clientId,
      grant,
      rotation.session.id,
      rotation.refreshToken,
      dpop,
    );
  }

  /**
   * What a refresh's access token carries. By default the session's own
   * audience and scopes (narrowed by `scope`, by the user's roles today and
   * by what the audience lets the client have today). With `resource`
   * naming another API (RFC 8707 §2.2), a password grant's session gets
   * that API's scopes which the user's roles and the session's client
   * allow; a session from a consent or a device approval does not, as what
   * the user agreed to was one API's scopes.
   */
  private async refreshedGrant(
    session: Pick<Session, 'resource' | 'scope' | 'grantType'>,
    user: User,
    client: AuthenticatedClient,
    resources: readonly string[],
    requestedScope: string | undefined,
  ): Promise<IssuedGrant> {
    const own = await this.audiences.ofResource(session.resource);
    if (
      own !== null &&
      resources.every((resource) => resource === own.identifier)
    ) {
      // The API may have let the client out, or narrowed it, since the login.
      const { clientScopes } = await allowanceSinceLogin(
        this.audiences,
        own,
        client,
      );
      return {
        audience: own,
        scopes: grantScopes(
          requestedScope,
          narrowScopes(sessionScopesFor(session, user, own), clientScopes),
          own,
        ),
      };
    }
    // RFC 6749 §6 and RFC 8707 §2.2: a refresh stays within the original grant. A user
    // consented to (or approved) one API's scopes, which say nothing of another API's.
    if (
      session.grantType === 'authorization_code' ||
      session.grantType === 'device_code'
    )
      throw new InvalidTarget(
        own === null
          ? 'The API this session signed in to is no longer registered; log in again.'
          : 'This session was granted for one API: sign in again for another.',
      );
    if (resources.length === 0)
      throw new InvalidTarget(
        'The API this session signed in to is no longer registered; name another resource, or log in again.',
      );
    const target = await this.audiences.target(resources, client);
    return {
      audience: target.audience,
      scopes: grantScopes(
        requestedScope,
        userScopesAt(target, user.roles),
        target.audience,
      ),
    };
  }

  /** RFC 6749 §4.4: a confidential client acting on its own behalf; no refresh token (§4.4.3). */
  async clientCredentialsGrant(
    client: AuthenticatedClient,
    requestedScope: string | undefined,
    resources: readonly string[],
    dpop?: VerifiedDpopProof,
  ): Promise<TokenResponseDto> {
    this.clients.requireConfidential(client, 'The client_credentials grant');
    requireGrantType(client, 'client_credentials');
    const { audience, clientScopes } = await this.audiences.target(
      resources,
      client,
    );
    const scopes = grantScopes(requestedScope, clientScopes, audience);
    const { token, expiresIn } = await this.accessTokens.issue({
      subject: client.clientId,
      clientId: client.clientId,
      scopes,
      audience: audience.identifier,
      ...confirmationBy(dpop),
    });
    this.events.tokenIssued('client_credentials');
    return {
      access_token: token,
      token_type: tokenTypeFor(dpop),
      expires_in: expiresIn,
      scope: scopes.join(' '),
    };
  }

  private async respond(
    userId: string,
    clientId: string,
    { scopes, audience }: IssuedGrant,
    sessionId: string,
    refreshToken: string,
    dpop: VerifiedDpopProof | undefined,
  ): Promise<TokenResponseDto> {
    const { token, expiresIn } = await this.accessTokens.issue({
      subject: userId,
      clientId,
      scopes,
      sessionId,
      audience: audience.identifier,
      ...confirmationBy(dpop),
    });
    return {
      access_token: token,
      token_type: tokenTypeFor(dpop),
      expires_in: expiresIn,
      refresh_token: refreshToken,
      scope: scopes.join(' '),
    };
  }
}

/** The scopes an access token gets, for the audience it is for. */
interface IssuedGrant {
  audience: TokenAudience;
  scopes: string[];
}

/** RFC 9449 §5: an access token issued with a proof is bound to its key (`cnf.jkt`, §6.1). */
export function confirmationBy(dpop: VerifiedDpopProof | undefined): {
  confirmation?: { jkt: string };
} {
  return dpop === undefined ? {} : { confirmation: { jkt: dpop.jkt } };
}

export function tokenTypeFor(
  dpop: VerifiedDpopProof | undefined,
): 'Bearer' | 'DPoP' {
  return dpop === undefined ? 'Bearer' : 'DPoP';
}

/**
 * RFC 9449 §5: a public client's refresh tokens are bound to the key of
 * the proof it logged in with. A confidential client's are not: they are
 * already bound to it by its authentication, and it may change keys.
 */
export function refreshTokenBinding(
  client: AuthenticatedClient,
  dpop: VerifiedDpopProof | undefined,
): { dpopJkt: string } | undefined {
  return client.confidential || dpop === undefined
    ? undefined
    : { dpopJkt: dpop.jkt };
}

/**
 * What a user may be granted at a target through its client: the
 * audience's scopes their roles give, no more than the client may ask for
 * there. A registered client gets no more than it was registered for,
 * whoever signs in through it.
 */
export function userScopesAt(
  target: Pick<TokenTarget, 'audience' | 'clientScopes'>,
  roles: readonly Role[],
): string[] {
  return narrowScopes(
    target.audience.scopesForRoles(roles),
    target.clientScopes,
  );
}

/**
 * The scopes a session's refresh token may still carry: those granted at
 * login that the user's roles still allow (RFC 6749 §6: never wider), at
 * the session's audience.
 */
export function sessionScopesFor(
  session: { scope: string },
  user: Pick<User, 'roles'>,
  audience: TokenAudience,
): string[] {
  return narrowScopes(
    session.scope.split(' ').filter(Boolean),
    audience.scopesForRoles(user.roles),
  );
}

/**
 * What a client may still have at the audience a user signed in to through
 * it, for a refresh, a device code or an authorization code: the API may
 * have let the client out (DELETE or PUT /resource-servers/{id}/clients/…)
 * since. Refused, the grant is `invalid_grant` (RFC 6749 §5.2: the grant
 * was issued to a client that may no longer use it there).
 */
export async function allowanceSinceLogin(
  audiences: TokenAudiences,
  audience: TokenAudience,
  client: AuthenticatedClient,
): Promise<Omit<TokenTarget, 'audience'>> {
  try {
    return await audiences.allowanceAt(audience, client);
  } catch (refusal) {
    if (refusal instanceof InvalidTarget)
      throw new InvalidGrant(
        'The API this session signed in to no longer lets this client in; log in again.',
      );
    throw refusal;
  }
}

/**
 * What can refuse a password grant before the password is checked: the
 * grant type, the resource, and a scope that is malformed, unknown or
 * beyond the client's. Refused then, the request costs no bcrypt and tells
 * nothing of the password; only a scope beyond the user's roles waits for
 * the user. Returns the target the grant is for.
 */
export async function checkPasswordGrantRequest(
  client: AuthenticatedClient,
  form: { scope?: string; resource: readonly string[] },
  audiences: TokenAudiences,
): Promise<TokenTarget> {
  requireGrantType(client, 'password');
  const target = await audiences.target(form.resource, client);
  if (form.scope !== undefined)
    grantScopes(form.scope, target.clientScopes, target.audience);
  return target;
}

/** A registered client uses only the grants it was registered for; the public client, password and refresh. */
export function requireGrantType(
  client: AuthenticatedClient,
  grantType: ClientGrantType,
): void {
  const allowed =
    client.client !== null
      ? client.client.allowedGrantTypes.includes(grantType)
      : grantType === 'password' || grantType === 'refresh_token';
  if (!allowed) {
    throw new UnauthorizedClient(
      `This client may not use the ${grantType} grant.`,
    );
  }
}

/**
 * RFC 6749 §3.3: with no `scope`, everything the caller may have; otherwise
 * exactly what was asked, each scope known at the audience and allowed.
 */
export function grantScopes(
  requested: string | undefined,
  allowed: readonly string[],
  audience: TokenAudience,
): string[] {
  if (requested === undefined) return [...allowed];
  const scopes = parseScope(requested);
  if (scopes === null || scopes.length === 0) {
    throw new InvalidScope('The scope parameter is malformed.');
  }
  const unknown = scopes.filter((scope) => !audience.isScope(scope));
  if (unknown.length > 0)
    throw new InvalidScope(
      audience.resourceServer === null
        ? `Unknown scope: ${unknown.join(' ')}.`
        : `Unknown scope for this resource: ${unknown.join(' ')}.`,
    );
  const refused = scopes.filter((scope) => !allowed.includes(scope));
  if (refused.length > 0)
    throw new InvalidScope(`Scope not allowed: ${refused.join(' ')}.`);
  return scopes;
}
