import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes, randomInt } from 'node:crypto';
import { DataSource, IsNull, LessThan, LessThanOrEqual, Or } from 'typeorm';
import type { VerifiedDpopProof } from '../../access/dpop-proof-verification.js';
import type { Actor } from '../../access/actor.js';
import { narrowScopes } from '../../access/scopes.js';
import { DEVICE_CODE_GRANT_TYPE } from '../../clients/client.entity.js';
import { ClientsService } from '../../clients/clients.service.js';
import { hashSecret } from '../../common/secrets.js';
import type { AppConfig } from '../../config/env.js';
import { containsNul } from '../../database/text.js';
import { isUniqueViolation } from '../../database/unique-violation.js';
import { LoginSessions } from '../../users/login-sessions.service.js';
import type { User } from '../../users/user.entity.js';
import { UsersService } from '../../users/users.service.js';
import { AccessTokenService } from '../access-token.service.js';
import type {
  AuthenticatedClient,
  RegisteredClient,
} from '../client-authenticator.service.js';
import { asAuthenticatedClient } from '../client-authenticator.service.js';
import {
  DeviceFlowError,
  InvalidGrant,
  InvalidRequest,
} from '../protocol/oauth.errors.js';
import type { TokenRequest } from '../protocol/token-request.js';
import type { TokenResponseDto } from '../protocol/token-response.dto.js';
import type { TokenAudience } from '../token-audiences.service.js';
import { TokenAudiences } from '../token-audiences.service.js';
import type { Client } from '../../clients/client.entity.js';
import {
  allowanceSinceLogin,
  confirmationBy,
  grantScopes,
  userScopesAt,
  requireGrantType,
  tokenTypeFor,
} from '../token-grants.service.js';
import { DeviceAuthorization } from './device-authorization.entity.js';

/** RFC 8628 §6.1: consonants only (no vowels, so no words), in upper case. */
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
const USER_CODE_LENGTH = 8;
/** RFC 8628 §3.5: each slow_down adds five seconds to the interval. */
const SLOW_DOWN_STEP_S = 5;
const CLEANUP_INTERVAL_MS = 3600 * 1000;

/** RFC 8628 §3.2: what the tool shows its user, and how it polls. */
export interface DeviceAuthorizationResponse {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

/** What a user would grant by approving a device authorization. */
export interface DeviceOffer {
  client: Client;
  audience: TokenAudience;
  scopes: string[];
}

/** What the /device page shows a signed-in user about a code they typed. */
export interface PendingDeviceAuthorization {
  id: string;
  clientId: string;
  requestedScope: string | null;
  resource: string | null;
  expiresAt: Date;
}

/**
 * The device authorization grant (RFC 8628) for command-line tools: the
 * tool gets a device code and a user code; the user approves the user code
 * on the /device page, signed in to this service in a browser; the tool's
 * polls meanwhile answer authorization_pending, or slow_down when it polls
 * faster than its interval. Every step is one conditional UPDATE, so two
 * instances never approve, deny or redeem one authorization twice.
 *
 * Written here: the grant is this service's own state machine over its
 * own tables, which no library provides for a NestJS server.
 */
@Injectable()
export class DeviceFlow implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(DeviceFlow.name);
  private readonly verificationUri: string;
  private readonly lifetimeS: number;
  private readonly intervalS: number;
  private cleanupTimer?: NodeJS.Timeout;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audiences: TokenAudiences,
    private readonly users: UsersService,
    private readonly logins: LoginSessions,
    private readonly accessTokens: AccessTokenService,
    private readonly clients: ClientsService,
    config: ConfigService<AppConfig, true>,
  ) {
    this.verificationUri = `${config.get('PUBLIC_URL', { infer: true })}/device`;
    this.lifetimeS = config.get('DEVICE_CODE_TTL', { infer: true });
    this.intervalS = config.get('DEVICE_CODE_INTERVAL', { infer: true });
  }

  onModuleInit(): void {
    this.cleanupTimer = setInterval(() => {
      this.removeExpired().catch((error: unknown) =>
        this.logger.warn(
          `Device authorization cleanup failed: ${String(error)}`,
        ),
      );
    }, CLEANUP_INTERVAL_MS).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.cleanupTimer);
  }

  async removeExpired(now = new Date(Date.now())): Promise<void> {
    await this.dataSource
      .getRepository(DeviceAuthorization)
      .delete({ expiresAt: LessThan(now) });
  }

  /**
   * RFC 8628 §3.1: a registered client with the device grant starts an
   * authorization. Its scope and resource are checked now, against the
   * client, so that a user is never asked to approve what cannot be had.
   */
  async start(
    client: AuthenticatedClient,
    form: TokenRequest,
  ): Promise<DeviceAuthorizationResponse> {
    requireGrantType(client, DEVICE_CODE_GRANT_TYPE);
    const target = await this.audiences.target(form.resource, client);
    // Kept as checked: each scope once, single spaces (RFC 6749 §3.3).
    const requestedScope =
      form.scope === undefined
        ? null
        : grantScopes(form.scope, target.clientScopes, target.audience).join(
            ' ',
          );
    const deviceCode = randomBytes(32).toString('base64url');
    const now = Date.now();
    for (let attempt = 0; ; attempt++) {
      const userCode = newUserCode();
      try {
        await this.dataSource.getRepository(DeviceAuthorization).insert({
          deviceCodeHash: hashSecret(deviceCode),
          userCode,
          clientId: client.clientId,
          requestedScope,
          resource: target.audience.resourceServer?.identifier ?? null,
          status: 'pending',
          userId: null,
          grantedScope: null,
          pollInterval: this.intervalS,
          lastPolledAt: null,
          decidedAt: null,
          expiresAt: new Date(now + this.lifetimeS * 1000),
          createdAt: new Date(now),
        });
      } catch (error) {
        // One user code in 20^8 is live at a time: a clash is rare, and another draw ends it.
        if (isUniqueViolation(error) && attempt < 3) continue;
        throw error;
      }
      const shown = `${userCode.slice(0, 4)}-${userCode.slice(4)}`;
      return {
        device_code: deviceCode,
        user_code: shown,
        verification_uri: this.verificationUri,
        verification_uri_complete: `${this.verificationUri}?user_code=${shown}`,
        expires_in: this.lifetimeS,
        interval: this.intervalS,
      };
    }
  }

  /** The pending authorization a typed user code names (any case, dashes and spaces ignored), if any. */
  async pending(typed: string): Promise<PendingDeviceAuthorization | null> {
    const userCode = normaliseUserCode(typed);
    if (userCode === null) return null;
    const found = await this.dataSource
      .getRepository(DeviceAuthorization)
      .findOneBy({ userCode, status: 'pending' });
    if (found === null || found.expiresAt.getTime() <= Date.now()) return null;
    return {
      id: found.id,
      clientId: found.clientId,
      requestedScope: found.requestedScope,
      resource: found.resource,
      expiresAt: found.expiresAt,
    };
  }

  /**
   * The signed-in user approves: the scopes are settled now, from what
   * they may have at the audience and the client may ask for. False when
   * it was no longer pending (decided on another tab, or expired);
   * InvalidScope when the tool asked for a scope this user may not have.
   */
  async approve(
    authorization: PendingDeviceAuthorization,
    user: User,
  ): Promise<boolean> {
    const offer = await this.offer(authorization, user);
    if (offer === null) return false;
    return this.decide(authorization, user, 'approved', offer.scopes.join(' '));
  }

  /**
   * What approving would grant this user: the scopes asked for (or, if
   * none, all) that their roles give at the audience and the client may
   * ask for, the client and the audience. Null when the client or the API
   * is gone; InvalidScope when the tool asked for more than this user may
   * have, or InvalidTarget when the API no longer lets the client in.
   */
  async offer(
    authorization: PendingDeviceAuthorization,
    user: User,
  ): Promise<DeviceOffer | null> {
    const audience = await this.audiences.ofResource(authorization.resource);
    if (audience === null) return null;
    const client = await this.clientOf(authorization.clientId);
    if (client === null) return null;
    const { clientScopes } = await this.audiences.allowanceAt(audience, client);
    const scopes = grantScopes(
      authorization.requestedScope ?? undefined,
      userScopesAt({ audience, clientScopes }, user.roles),
      audience,
    );
    return { client: client.client, audience, scopes };
  }

  /** The signed-in user refuses: the tool's next poll answers access_denied. */
  deny(
    authorization: PendingDeviceAuthorization,
    user: User,
  ): Promise<boolean> {
    return this.decide(authorization, user, 'denied', null);
  }

  /**
   * RFC 8628 §3.4 and §3.5: the tool polls with its device code. Approved,
   * it gets tokens once; otherwise the RFC's answer for where things stand.
   */
  async redeem(
    client: AuthenticatedClient,
    form: TokenRequest,
    actor: Actor,
    dpop?: VerifiedDpopProof,
  ): Promise<TokenResponseDto> {
    requireGrantType(client, DEVICE_CODE_GRANT_TYPE);
    if (form.device_code === undefined)
      throw new InvalidRequest('device_code is required.');
    const repository = this.dataSource.getRepository(DeviceAuthorization);
    const found = containsNul(form.device_code)
      ? null
      : await repository.findOneBy({
          deviceCodeHash: hashSecret(form.device_code),
        });
    // Another client's code is no code at all to this one (§3.4 binds it to its client).
    if (found === null || found.clientId !== client.clientId)
      throw new InvalidGrant('The device_code is invalid.');
    const now = Date.now();
    if (found.expiresAt.getTime() <= now)
      throw new DeviceFlowError(
        'expired_token',
        'The device_code expired: start again.',
      );
    if (found.status === 'denied')
      throw new DeviceFlowError('access_denied', 'The user refused.');
    if (found.status === 'redeemed')
      throw new InvalidGrant('The device_code was used already.');
    await this.throttlePolls(found, now);
    if (found.status === 'pending')
      throw new DeviceFlowError(
        'authorization_pending',
        'The user has not approved the request yet.',
      );

    const audience = await this.audiences.ofResource(found.resource);
    if (audience === null)
      throw new DeviceFlowError(
        'access_denied',
        'The API these tokens were for is no longer registered.',
      );
    // The API may have let the client out, or narrowed it, since the approval.
    const { clientScopes } = await allowanceSinceLogin(
      this.audiences,
      audience,
      client,
    );

    // Approved: one poll wins the tokens, whichever instance it reaches.
    const { affected } = await repository.update(
      { id: found.id, status: 'approved' },
      { status: 'redeemed' },
    );
    if (affected !== 1)
      throw new InvalidGrant('The device_code was used already.');
    const user = await this.users.findById(found.userId!);
    if (
      user === null ||
      !user.isActive ||
      (user.tokensValidAfter !== null &&
        found.decidedAt!.getTime() < user.tokensValidAfter.getTime())
    )
      throw new DeviceFlowError(
        'access_denied',
        'The account that approved is no longer signed in there: start again.',
      );
    const scopes = narrowScopes(
      narrowScopes(
        (found.grantedScope ?? '').split(' ').filter(Boolean),
        audience.scopesForRoles(user.roles),
      ),
      clientScopes,
    );
    const started = await this.logins.start(
      user,
      client.clientId,
      { scopes, resource: found.resource, grantType: 'device_code' },
      actor,
    );
    if (started === null)
      throw new DeviceFlowError(
        'access_denied',
        'The account changed while the tool waited: start again.',
      );
    const { token, expiresIn } = await this.accessTokens.issue({
      subject: user.id,
      clientId: client.clientId,
      scopes,
      sessionId: started.session.id,
      audience: audience.identifier,
      ...confirmationBy(dpop),
    });
    return {
      access_token: token,
      token_type: tokenTypeFor(dpop),
      expires_in: expiresIn,
      refresh_token: started.refreshToken,
      scope: scopes.join(' '),
    };
  }

  /**
   * §3.5: a poll sooner than the interval since the last one answers
   * slow_down and lengthens the interval. The conditional UPDATE is the
   * referee between two polls racing on two instances.
   */
  private async throttlePolls(
    found: DeviceAuthorization,
    now: number,
  ): Promise<void> {
    const repository = this.dataSource.getRepository(DeviceAuthorization);
    const earliest = new Date(now - found.pollInterval * 1000);
    const { affected } = await repository.update(
      { id: found.id, lastPolledAt: Or(IsNull(), LessThanOrEqual(earliest)) },
      { lastPolledAt: new Date(now) },
    );
    if (affected === 1) return;
    // Added in the UPDATE, not from the row read before: two polls racing
    // (on two instances) each lengthen the interval, none overwrites the other.
    const column = this.dataSource.driver.escape('pollInterval');
    await repository.update(
      { id: found.id },
      {
        pollInterval: () => `${column} + ${SLOW_DOWN_STEP_S}`,
        lastPolledAt: new Date(now),
      },
    );
    const { pollInterval } = await repository.findOneOrFail({
      select: { id: true, pollInterval: true },
      where: { id: found.id },
    });
    throw new DeviceFlowError(
      'slow_down',
      `Poll at most every ${pollInterval} seconds.`,
    );
  }

  private async decide(
    authorization: PendingDeviceAuthorization,
    user: User,
    status: 'approved' | 'denied',
    grantedScope: string | null,
  ): Promise<boolean> {
    const { affected } = await this.dataSource
      .getRepository(DeviceAuthorization)
      .update(
        { id: authorization.id, status: 'pending' },
        {
          status,
          userId: user.id,
          grantedScope,
          decidedAt: new Date(Date.now()),
        },
      );
    return affected === 1;
  }

  /** The client as token requests authenticate it, for settling scopes at approval. */
  private async clientOf(clientId: string): Promise<RegisteredClient | null> {
    const client = await this.clients.findById(clientId);
    return client === null ? null : asAuthenticatedClient(client);
  }
}

function newUserCode(): string {
  let code = '';
  for (let at = 0; at < USER_CODE_LENGTH; at++)
    code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return code;
}

/** What a person types, read forgivingly: case, dashes and spaces do not matter (§6.1). */
export function normaliseUserCode(typed: string): string | null {
  const letters = typed.toUpperCase().replace(/[\s-]/g, '');
  return letters.length === USER_CODE_LENGTH &&
    [...letters].every((letter) => USER_CODE_ALPHABET.includes(letter))
    ? letters
    : null;
}
