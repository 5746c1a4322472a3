import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull, LessThan } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { hashSecret, newSecret } from '../../common/secrets.js';
import type { AppConfig } from '../../config/env.js';
import { AuthorizationCode } from './authorization-code.entity.js';

/** What a code is issued for, to be proven or repeated when it is redeemed. */
export interface CodeGrant {
  clientId: string;
  userId: string;
  redirectUri: string;
  codeChallenge: string;
  scopes: readonly string[];
  resource: string | null;
}

/**
 * Authorization codes (RFC 6749 §4.1.2): 256 random bits given to the
 * browser once, stored only as their SHA-256, valid AUTHORIZATION_CODE_TTL
 * seconds (at most a minute), and redeemed once.
 */
@Injectable()
export class AuthorizationCodes {
  private readonly ttlMs: number;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    config: ConfigService<AppConfig, true>,
  ) {
    this.ttlMs = config.get('AUTHORIZATION_CODE_TTL', { infer: true }) * 1000;
  }

  async issue(grant: CodeGrant): Promise<string> {
    const code = newSecret();
    const now = Date.now();
    const codes = this.dataSource.getRepository(AuthorizationCode);
    // Each code issued sweeps those long expired (kept a while to recognise a late replay).
    await codes.delete({
      expiresAt: LessThan(new Date(now - 10 * this.ttlMs)),
    });
    await codes.insert({
      id: hashSecret(code),
      clientId: grant.clientId,
      userId: grant.userId,
      redirectUri: grant.redirectUri,
      codeChallenge: grant.codeChallenge,
      scope: grant.scopes.join(' '),
      resource: grant.resource,
      sessionId: null,
      createdAt: new Date(now),
      expiresAt: new Date(now + this.ttlMs),
      usedAt: null,
    });
    return code;
  }

  /** The code's row, used or not, expired or not; null for a code never issued. */
  find(code: string): Promise<AuthorizationCode | null> {
    return this.dataSource
      .getRepository(AuthorizationCode)
      .findOneBy({ id: hashSecret(code) });
  }

  /**
   * Spends the code in the caller's transaction: true for the one request
   * that does, false for every other. The conditional UPDATE is the
   * referee between instances: PostgreSQL makes a second one wait for the
   * first's row lock, then finds `usedAt` set.
   */
  async spend(manager: EntityManager, id: string): Promise<boolean> {
    const result = await manager.update(
      AuthorizationCode,
      { id, usedAt: IsNull() },
      { usedAt: new Date() },
    );
    return result.affected === 1;
  }

  /** The session the code's redemption started, in the same transaction: a replay ends it. */
  async recordSession(
    manager: EntityManager,
    id: string,
    sessionId: string,
  ): Promise<void> {
    await manager.update(AuthorizationCode, { id }, { sessionId });
  }
}
