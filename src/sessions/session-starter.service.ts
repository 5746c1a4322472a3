import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { EntityManager } from 'typeorm';
import type { Actor } from '../access/actor.js';
import { SecurityEvents } from '../audit/security-events.service.js';
import { hashSecret, newSecret } from '../common/secrets.js';
import type { AppConfig } from '../config/env.js';
import { RefreshToken } from './refresh-token.entity.js';
import { Session } from './session.entity.js';
import type { SessionGrantType } from './session.entity.js';
import type { SessionOwner } from './session-owner.js';

export interface IssuedRefreshToken {
  session: Session;
  refreshToken: string;
}

/** What every refresh of the session must prove besides holding the token. */
export interface SessionBinding {
  /** RFC 9449 §5: the thumbprint of the DPoP key of a public client's login. */
  dpopJkt: string;
}

/**
 * A login starts a refresh-token family (RFC 9700 §4.14.2): a session and
 * its first refresh token.
 */
/** What a login grants its session: scopes of this service, or of the API `resource` names. */
export interface SessionGrant {
  scopes: readonly string[];
  /** The API (RFC 8707 resource) the scopes belong to; null for this service. */
  resource: string | null;
  /** How the user signed in, as the audit log tells it. */
  grantType: SessionGrantType;
}

@Injectable()
export class SessionStarter {
  private readonly refreshTtlMs: number;

  constructor(
    private readonly events: SecurityEvents,
    config: ConfigService<AppConfig, true>,
  ) {
    this.refreshTtlMs = config.get('REFRESH_TOKEN_TTL', { infer: true }) * 1000;
  }

  /**
   * Runs in the caller's transaction, the one that checked the owner may
   * still log in, so that the session and its audit row land with that
   * check or not at all.
   */
  async start(
    owner: SessionOwner,
    clientId: string,
    grant: SessionGrant,
    context: Actor,
    manager: EntityManager,
    binding?: SessionBinding,
  ): Promise<IssuedRefreshToken> {
    const now = new Date();
    const refreshToken = newSecret();
    const session = await manager.save(
      manager.create(Session, {
        userId: owner.id,
        clientId,
        resource: grant.resource,
        grantType: grant.grantType,
        scope: grant.scopes.join(' '),
        userAgent: context.userAgent?.slice(0, 512) ?? null,
        ipAddress: context.ipAddress?.slice(0, 64) ?? null,
        lastUsedAt: now,
        expiresAt: new Date(now.getTime() + this.refreshTtlMs),
        endedAt: null,
        endReason: null,
        dpopJkt: binding?.dpopJkt ?? null,
      }),
    );
    await manager.insert(RefreshToken, {
      tokenHash: hashSecret(refreshToken),
      sessionId: session.id,
      expiresAt: session.expiresAt,
      spentAt: null,
    });
    await this.events.record(
      {
        type: 'login.succeeded',
        user: owner,
        clientId,
        details: {
          sessionId: session.id,
          scope: session.scope,
          grantType: grant.grantType,
          ...(session.resource === null ? {} : { resource: session.resource }),
        },
      },
      context,
      manager,
    );
    return { session, refreshToken };
  }
}
