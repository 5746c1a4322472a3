import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { containsNul } from '../database/text.js';
import { Consent } from './consent.entity.js';

/** What a user let a third-party client have, remembered so that the next sign-in does not ask again. */
@Injectable()
export class Consents {
  constructor(
    @InjectRepository(Consent) private readonly consents: Repository<Consent>,
  ) {}

  /** Whether the user already let the client have every one of `scopes` at this audience. */
  async covers(
    userId: string,
    clientId: string,
    audience: string,
    scopes: readonly string[],
  ): Promise<boolean> {
    const consent = await this.consents.findOneBy({
      userId,
      clientId,
      audience,
    });
    return (
      consent !== null &&
      scopes.every((scope) => consent.scopes.includes(scope))
    );
  }

  /** Adds `scopes` to what the user consented to; what was granted before stays. */
  async grant(
    userId: string,
    clientId: string,
    audience: string,
    scopes: readonly string[],
  ): Promise<void> {
    const existing = await this.consents.findOneBy({
      userId,
      clientId,
      audience,
    });
    await this.consents.save(
      this.consents.create({
        userId,
        clientId,
        audience,
        scopes: [...new Set([...(existing?.scopes ?? []), ...scopes])],
        grantedAt: new Date(),
      }),
    );
  }

  list(userId: string): Promise<Consent[]> {
    return this.consents.find({
      where: { userId },
      order: { grantedAt: 'ASC', clientId: 'ASC', audience: 'ASC' },
    });
  }

  /** Withdraws every consent of the user to the client; false when there was none. */
  async revoke(userId: string, clientId: string): Promise<boolean> {
    if (containsNul(clientId)) return false;
    const result = await this.consents.delete({ userId, clientId });
    return (result.affected ?? 0) > 0;
  }
}
