import type { OnApplicationBootstrap } from '@nestjs/common';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { SCOPES } from '../access/scopes.js';
import type { AppConfig } from '../config/env.js';
import { isUniqueViolation } from '../database/unique-violation.js';
import { Client } from './client.entity.js';

/** The client id Swagger UI's Authorize uses for the code flow; the OpenAPI document's readers see it. */
export const DOCS_CLIENT_ID = 'swagger-ui';

/** Where Swagger UI receives the authorization response, below /docs. */
export const DOCS_REDIRECT_PATH = '/docs/oauth2-redirect.html';

/**
 * Swagger UI at /docs signs people in with the authorization code flow and
 * PKCE, as a first-party public client this service registers for itself
 * at every start: a person clicks Authorize, signs in on the hosted page
 * and comes back authorized, with nothing to configure. Its redirect URI
 * follows PUBLIC_URL, so a service moved to another address keeps working.
 */
@Injectable()
export class DocsClient implements OnApplicationBootstrap {
  private readonly logger = new Logger(DocsClient.name);
  readonly redirectUri: string;
  private readonly passwordGrant: boolean;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    config: ConfigService<AppConfig, true>,
  ) {
    this.redirectUri = `${config.get('PUBLIC_URL', { infer: true })}${DOCS_REDIRECT_PATH}`;
    this.passwordGrant =
      config.get('PASSWORD_GRANT', { infer: true }) === 'enabled';
  }

  async onApplicationBootstrap(): Promise<void> {
    try {
      await this.ensureRegistered();
    } catch (error) {
      // The password flow and every API still work; only Authorize's code flow would fail.
      this.logger.warn(
        `Swagger UI's client could not be registered (${String(error)}): its code flow will be refused until the next start`,
      );
    }
  }

  private async ensureRegistered(): Promise<void> {
    const clients = this.dataSource.getRepository(Client);
    const registration = {
      name: 'Swagger UI (API explorer)',
      secretHash: null,
      jwks: null,
      allowedScopes: Object.keys(SCOPES),
      // Its Authorize dialog also offers the password form, which names this client too.
      allowedGrantTypes: [
        'authorization_code' as const,
        'refresh_token' as const,
        ...(this.passwordGrant ? ['password' as const] : []),
      ],
      dpopBoundAccessTokens: false,
      clientType: 'public' as const,
      redirectUris: [this.redirectUri],
      firstParty: true,
    };
    const existing = await clients.findOneBy({ id: DOCS_CLIENT_ID });
    if (existing !== null) {
      await clients.update({ id: DOCS_CLIENT_ID }, registration);
      return;
    }
    try {
      await clients.insert({
        id: DOCS_CLIENT_ID,
        createdAt: new Date(),
        ...registration,
      });
    } catch (error) {
      // Another instance starting at the same moment registered it first.
      if (!isUniqueViolation(error)) throw error;
    }
  }
}
