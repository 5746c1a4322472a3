import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { isScope, SCOPES } from '../access/scopes.js';
import type { AppConfig } from '../config/env.js';
import type { ResourceServer } from '../resource-servers/resource-server.entity.js';
import type { ResourceServerClient } from '../resource-servers/resource-server-client.entity.js';
import { ResourceServersService } from '../resource-servers/resource-servers.service.js';
import { scopesForRoles } from '../users/roles.js';
import type { Role } from '../users/user.entity.js';
import type { AuthenticatedClient } from './client-authenticator.service.js';
import { PUBLIC_CLIENT_ID } from './client-authenticator.service.js';
import { InvalidTarget } from './protocol/oauth.errors.js';

/** Whom an access token is for: this service itself, or one registered API. */
export interface TokenAudience {
  /** The token's `aud`. */
  readonly identifier: string;
  /** The registered API; null for this service. */
  readonly resourceServer: ResourceServer | null;
  isScope(name: string): boolean;
  /** The audience's scopes that these roles grant a user. */
  scopesForRoles(roles: readonly Role[]): string[];
  /** A scope in words, for a consent or device page. */
  describe(name: string): string;
}

/** An audience a client asked for, and the scopes the client may ask for there. */
export interface TokenTarget {
  audience: TokenAudience;
  clientScopes: readonly string[];
  /** What the API lets this registered client have; null at this service, or for the public client. */
  allowance: ResourceServerClient | null;
}

/**
 * RFC 8707: which audience a token request targets with `resource`, and
 * whether its client may target it. One access token is for one API, so
 * that a token stolen from one cannot be replayed at another.
 */
@Injectable()
export class TokenAudiences {
  /** This service itself, the audience of a request without `resource`. */
  readonly own: TokenAudience;

  constructor(
    private readonly servers: ResourceServersService,
    config: ConfigService<AppConfig, true>,
  ) {
    this.own = {
      identifier: config.get('ACCESS_TOKEN_AUDIENCE', { infer: true }),
      resourceServer: null,
      isScope,
      scopesForRoles,
      describe: (name) => (isScope(name) ? SCOPES[name] : name),
    };
  }

  /**
   * The target of a token request's `resource` values (none: this service).
   * `invalid_target` (RFC 8707 §2) for a malformed or unknown resource, for
   * several at once, or for an API that does not let this client in.
   */
  async target(
    resources: readonly string[],
    client: AuthenticatedClient,
  ): Promise<TokenTarget> {
    const named = [...new Set(resources)];
    if (named.length > 1) {
      throw new InvalidTarget(
        'An access token is for one API: name one resource per token request (a refresh token can then get tokens for the others).',
      );
    }
    const audience =
      named.length === 0 ? this.own : await this.registered(named[0]);
    return { audience, ...(await this.allowanceAt(audience, client)) };
  }

  /** The audience of a session's scopes, or of a token's `aud`; null when its API is gone. */
  async ofResource(resource: string | null): Promise<TokenAudience | null> {
    if (resource === null || resource === this.own.identifier) return this.own;
    const server = await this.servers.findByIdentifier(resource);
    return server === null ? null : apiAudience(server);
  }

  /**
   * What a client may ask for at an audience. A registered client: at this
   * service its `allowedScopes`, at an API what the API lets it have (and
   * nothing without the API's leave: `invalid_target`); a registered public
   * client likewise. The unregistered public client
   * (a person signing in through Swagger UI or an app of theirs) is limited
   * by the user's roles alone.
   */
  async allowanceAt(
    audience: TokenAudience,
    client: AuthenticatedClient,
  ): Promise<Omit<TokenTarget, 'audience'>> {
    const server = audience.resourceServer;
    if (server === null)
      return {
        clientScopes:
          client.client !== null
            ? client.client.allowedScopes
            : Object.keys(SCOPES),
        allowance: null,
      };
    if (client.client === null)
      return {
        clientScopes: server.scopes.map((scope) => scope.name),
        allowance: null,
      };
    const allowance = await this.servers.grantFor(server, client.clientId);
    if (allowance === null) {
      throw new InvalidTarget(
        'This client may not ask for tokens for this resource.',
      );
    }
    return { clientScopes: allowance.scopes, allowance };
  }

  /**
   * What an API lets a client have, read for a user's token at the API: null
   * at this service, for the unregistered public client, or when the API
   * does not (or no longer) let the client in.
   */
  allowanceOf(
    audience: TokenAudience,
    clientId: string,
  ): Promise<ResourceServerClient | null> {
    return audience.resourceServer === null || clientId === PUBLIC_CLIENT_ID
      ? Promise.resolve(null)
      : this.servers.grantFor(audience.resourceServer, clientId);
  }

  private async registered(resource: string): Promise<TokenAudience> {
    if (resource === this.own.identifier) return this.own;
    const server = await this.servers.findByIdentifier(resource);
    // Unknown and malformed alike: the identifier is compared as it is.
    if (server === null)
      throw new InvalidTarget('The resource is not a registered API.');
    return apiAudience(server);
  }
}

function apiAudience(server: ResourceServer): TokenAudience {
  const names = new Set(server.scopes.map((scope) => scope.name));
  const words = new Map(
    server.scopes.map((scope) => [scope.name, scope.description]),
  );
  return {
    identifier: server.identifier,
    resourceServer: server,
    isScope: (name) => names.has(name),
    scopesForRoles: (roles) =>
      server.scopes
        .filter((scope) => scope.roles.some((role) => roles.includes(role)))
        .map((scope) => scope.name),
    describe: (name) => words.get(name) ?? name,
  };
}
