import { Injectable } from '@nestjs/common';
import type { Actor } from '../access/actor.js';
import type { Client } from '../clients/client.entity.js';
import { SessionEnder } from '../sessions/session-ender.service.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { UsersService } from '../users/users.service.js';
import { AccessTokenVerifier } from './access-token-verifier.service.js';
import type { AuthenticatedClient } from './client-authenticator.service.js';
import type { IntrospectionDto } from './protocol/introspection.dto.js';
import { sessionScopesFor } from './token-grants.service.js';
import { TokenAudiences } from './token-audiences.service.js';

/**
 * The tokens this service issued, as their holders (revocation) and
 * resource servers (introspection) see them. A token is tried first as a
 * refresh token, then as an access token (`token_type_hint` is only a
 * hint, RFC 7009 §2.1 and RFC 7662 §2.1).
 */
@Injectable()
export class IssuedTokensService {
  constructor(
    private readonly sessions: SessionsService,
    private readonly ender: SessionEnder,
    private readonly users: UsersService,
    private readonly verifier: AccessTokenVerifier,
    private readonly audiences: TokenAudiences,
  ) {}

  /**
   * RFC 7009: revoking either token of a session ends the session, so its
   * refresh tokens and access tokens stop working together (§2.1 allows
   * this). A token of another client, unknown or already invalid changes
   * nothing, and the caller is not told which (§2.2); nor does an exchanged
   * token, which lives out its few minutes: its session is the user's with
   * the upstream client.
   */
  async revoke(
    token: string,
    client: AuthenticatedClient,
    actor: Actor,
  ): Promise<void> {
    const refresh = await this.sessions.findByRefreshToken(token);
    if (refresh?.session) {
      if (refresh.session.clientId === client.clientId) {
        const owner = await this.users.findById(refresh.session.userId);
        if (owner)
          await this.ender.end(owner, refresh.sessionId, 'revoked', actor);
      }
      return;
    }
    const principal = await this.verifier.verify(token);
    // An exchanged token (RFC 8693) is the downstream client's, in the user's
    // session with another client: revoking it must not end that session.
    if (
      principal?.user &&
      principal.sessionId &&
      principal.clientId === client.clientId &&
      !principal.exchanged
    ) {
      await this.ender.end(
        principal.user,
        principal.sessionId,
        'revoked',
        actor,
      );
    }
  }

  /**
   * RFC 7662 §2.2: `{ active: false }` for anything not valid right now.
   * `asking` is the authenticated client; its own tokens are checked
   * against the row its authentication just read.
   */
  async introspect(token: string, asking: Client): Promise<IntrospectionDto> {
    const principal = await this.verifier.verify(token, asking);
    if (principal !== null) {
      const { claims } = principal;
      return {
        active: true,
        scope: principal.scopes.join(' '),
        client_id: principal.clientId,
        ...(principal.user ? { username: principal.user.username } : {}),
        // RFC 9449 §6.2.
        ...(claims.cnf === undefined
          ? { token_type: 'Bearer' as const }
          : { token_type: 'DPoP' as const, cnf: { jkt: claims.cnf.jkt } }),
        exp: claims.exp,
        iat: claims.iat,
        sub: claims.sub,
        aud: claims.aud,
        iss: claims.iss,
        jti: claims.jti,
        ...(claims.act === undefined ? {} : { act: claims.act }),
      };
    }
    return this.introspectRefreshToken(token);
  }

  private async introspectRefreshToken(
    token: string,
  ): Promise<IntrospectionDto> {
    // Any client may introspect: the token's own client is not compared.
    const presented = await this.sessions.presentedRefreshToken(token);
    if (presented?.state !== 'live') return { active: false };
    const { token: refresh, session } = presented;
    const user = await this.users.findById(session.userId);
    if (user === null || !user.isActive) return { active: false };
    const audience = await this.audiences.ofResource(session.resource);
    if (audience === null) return { active: false };
    return {
      active: true,
      scope: sessionScopesFor(session, user, audience).join(' '),
      client_id: session.clientId,
      username: user.username,
      exp: Math.floor(refresh.expiresAt.getTime() / 1000),
      iat: Math.floor(refresh.createdAt.getTime() / 1000),
      sub: user.id,
      ...(session.dpopJkt === null ? {} : { cnf: { jkt: session.dpopJkt } }),
    };
  }
}
