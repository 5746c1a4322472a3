import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, timingSafeEqual } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { Actor } from '../../access/actor.js';
import type { VerifiedDpopProof } from '../../access/dpop-proof-verification.js';
import { narrowScopes } from '../../access/scopes.js';
import { inTransaction, shareLock } from '../../database/transaction.js';
import { SessionEnder } from '../../sessions/session-ender.service.js';
import { SessionStarter } from '../../sessions/session-starter.service.js';
import { User } from '../../users/user.entity.js';
import { AccessTokenService } from '../access-token.service.js';
import type { AuthenticatedClient } from '../client-authenticator.service.js';
import { InvalidGrant, InvalidRequest } from '../protocol/oauth.errors.js';
import type { TokenRequest } from '../protocol/token-request.js';
import type { TokenResponseDto } from '../protocol/token-response.dto.js';
import { TokenAudiences } from '../token-audiences.service.js';
import {
  allowanceSinceLogin,
  confirmationBy,
  refreshTokenBinding,
  requireGrantType,
  sessionScopesFor,
  tokenTypeFor,
} from '../token-grants.service.js';
import type { AuthorizationCode } from './authorization-code.entity.js';
import { AuthorizationCodes } from './authorization-codes.service.js';

/** RFC 7636 §4.1: 43 to 128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

/** One answer for every code that cannot be redeemed: which check failed helps only whoever holds a stolen one. */
const INVALID_CODE =
  'The authorization code is invalid, expired, already used, or was issued to another client or redirect URI.';

/**
 * RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.6): an authorization code for
 * tokens. A code is redeemed once; a second attempt is an attack (or a
 * client's bug) and ends the session the first one started (§4.1.2,
 * RFC 9700 §4.2.4).
 */
@Injectable()
export class AuthorizationCodeGrant {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly codes: AuthorizationCodes,
    private readonly starter: SessionStarter,
    private readonly ender: SessionEnder,
    private readonly accessTokens: AccessTokenService,
    private readonly audiences: TokenAudiences,
  ) {}

  async redeem(
    form: TokenRequest,
    client: AuthenticatedClient,
    actor: Actor,
    dpop?: VerifiedDpopProof,
  ): Promise<TokenResponseDto> {
    if (form.code === undefined) throw new InvalidRequest('code is required.');
    if (form.redirect_uri === undefined)
      throw new InvalidRequest(
        'redirect_uri is required: the one the authorization request used.',
      );
    if (form.code_verifier === undefined)
      throw new InvalidRequest(
        'code_verifier is required (PKCE, RFC 7636 section 4.5).',
      );
    requireGrantType(client, 'authorization_code');
    const code = await this.codes.find(form.code);
    if (code === null) throw new InvalidGrant(INVALID_CODE);
    if (code.usedAt !== null) return this.replayed(code, actor);
    if (
      code.clientId !== client.client?.id ||
      code.redirectUri !== form.redirect_uri ||
      !verifierMatches(form.code_verifier, code.codeChallenge) ||
      code.expiresAt.getTime() <= Date.now()
    )
      throw new InvalidGrant(INVALID_CODE);
    const audience = await this.audiences.ofResource(code.resource);
    if (audience === null) throw new InvalidGrant(INVALID_CODE);
    // The API may have let the client out, or narrowed it, since the sign-in.
    const { clientScopes } = await allowanceSinceLogin(
      this.audiences,
      audience,
      client,
    );
    const started = await inTransaction(this.dataSource, async (manager) => {
      if (!(await this.codes.spend(manager, code.id))) return 'replayed';
      const user = await manager.findOne(User, {
        where: { id: code.userId },
        ...shareLock(this.dataSource),
      });
      // A password change or deactivation since the sign-in ended what it allowed.
      if (
        user?.isActive !== true ||
        (user.tokensValidAfter !== null &&
          code.createdAt < user.tokensValidAfter)
      )
        return null;
      const scopes = narrowScopes(
        sessionScopesFor(code, user, audience),
        clientScopes,
      );
      const issued = await this.starter.start(
        user,
        client.clientId,
        { scopes, resource: code.resource, grantType: 'authorization_code' },
        actor,
        manager,
        refreshTokenBinding(client, dpop),
      );
      await this.codes.recordSession(manager, code.id, issued.session.id);
      return { ...issued, user, scopes };
    });
    if (started === 'replayed') {
      const spent = await this.codes.find(form.code);
      return this.replayed(spent ?? code, actor);
    }
    if (started === null) throw new InvalidGrant(INVALID_CODE);
    const { token, expiresIn } = await this.accessTokens.issue({
      subject: started.user.id,
      clientId: client.clientId,
      scopes: started.scopes,
      sessionId: started.session.id,
      audience: audience.identifier,
      ...confirmationBy(dpop),
    });
    return {
      access_token: token,
      token_type: tokenTypeFor(dpop),
      expires_in: expiresIn,
      refresh_token: started.refreshToken,
      scope: started.scopes.join(' '),
    };
  }

  /** §4.1.2: the code was used; what it issued ends. The answer is the same as for any bad code. */
  private async replayed(
    code: AuthorizationCode,
    actor: Actor,
  ): Promise<never> {
    const owner =
      code.sessionId === null
        ? null
        : await this.dataSource
            .getRepository(User)
            .findOneBy({ id: code.userId });
    if (owner !== null && code.sessionId !== null)
      await this.ender.end(owner, code.sessionId, 'revoked', actor);
    throw new InvalidGrant(INVALID_CODE);
  }
}

/** RFC 7636 §4.6: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge. */
function verifierMatches(verifier: string, challenge: string): boolean {
  if (!CODE_VERIFIER.test(verifier)) return false;
  const computed = Buffer.from(
    createHash('sha256').update(verifier, 'ascii').digest('base64url'),
  );
  const expected = Buffer.from(challenge);
  return (
    computed.length === expected.length && timingSafeEqual(computed, expected)
  );
}
