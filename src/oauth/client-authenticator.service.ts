import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { requestOrigin } from '../access/actor.js';
import { SecurityEvents } from '../audit/security-events.service.js';
import type { Client } from '../clients/client.entity.js';
import { ClientsService } from '../clients/clients.service.js';
import { ConfigService } from '@nestjs/config';
import type { FastifyRequest } from 'fastify';
import { TooManyRequestsException } from '../common/http-problem.exception.js';
import type { AppConfig } from '../config/env.js';
import { clientKeyOf } from '../rate-limiting/client-key.js';
import { RateLimiters } from '../rate-limiting/rate-limiters.service.js';
import {
  ClientAssertionRefused,
  ClientAssertionVerifier,
  JWT_BEARER_ASSERTION_TYPE,
} from './client-assertion-verifier.service.js';
import { InvalidClient, InvalidRequest } from './protocol/oauth.errors.js';
import type { TokenRequest } from './protocol/token-request.js';

/** The `client_id` of tokens requested without client authentication. */
export const PUBLIC_CLIENT_ID = 'public';

export type AuthenticatedClient =
  | { clientId: string; confidential: true; client: Client }
  /** A registered public client (RFC 6749 §2.1): its `client_id` alone, its registration still binding. */
  | { clientId: string; confidential: false; client: Client }
  /** A public client cannot keep a secret (RFC 6749 §2.1). */
  | { clientId: typeof PUBLIC_CLIENT_ID; confidential: false; client: null };

/** A registered client as the token endpoint would see it authenticated, by its type. */
export type RegisteredClient = Exclude<AuthenticatedClient, { client: null }>;

export function asAuthenticatedClient(client: Client): RegisteredClient {
  return client.clientType === 'public'
    ? { clientId: client.id, confidential: false, client }
    : { clientId: client.id, confidential: true, client };
}

interface ClientCredentials {
  clientId: string;
  clientSecret: string;
  method: 'client_secret_basic' | 'client_secret_post';
}

/** RFC 7523 §2.2: a JWT the client signed; `client_id` is optional beside it. */
interface ClientAssertion {
  method: 'private_key_jwt';
  clientId?: string;
  assertionType: string;
  assertion: string;
}

/**
 * RFC 6749 §2.3: who is asking. A registered client authenticates with
 * HTTP Basic (client_secret_basic) or in the body (client_secret_post), or,
 * if it registered keys, with a signed JWT (private_key_jwt, RFC 7523); a
 * request without client credentials is the public client. Swagger UI's
 * password form sends `Basic Og==` (an empty id and secret) when no client
 * is configured: that is the public client too, not a failed login.
 *
 * Failures are limited per address and per client id, and only failures:
 * a client presenting its secret is never refused, however many others
 * failed with its id. Client secrets are 256 random bits, so the limits are
 * not against guessing but against a loop that costs the server work and
 * the audit log its readability.
 */
@Injectable()
export class ClientAuthenticator {
  private readonly realm: string;
  private readonly failuresPerAddress: RateLimiterAbstract;
  private readonly failuresPerClient: RateLimiterAbstract;

  constructor(
    private readonly clients: ClientsService,
    private readonly events: SecurityEvents,
    private readonly assertions: ClientAssertionVerifier,
    limiters: RateLimiters,
    config: ConfigService<AppConfig, true>,
  ) {
    this.realm = config.get('PUBLIC_URL', { infer: true });
    const duration = config.get('THROTTLE_CLIENT_AUTH_FAILURE_TTL', {
      infer: true,
    });
    this.failuresPerAddress = limiters.create({
      keyPrefix: 'client-auth-failures-ip',
      points: config.get('THROTTLE_CLIENT_AUTH_FAILURE_LIMIT', { infer: true }),
      duration,
    });
    this.failuresPerClient = limiters.create({
      keyPrefix: 'client-auth-failures-client',
      points: config.get('THROTTLE_CLIENT_AUTH_FAILURE_PER_CLIENT_LIMIT', {
        infer: true,
      }),
      duration,
    });
  }

  async authenticate(
    request: FastifyRequest,
    params: TokenRequest,
  ): Promise<AuthenticatedClient> {
    const credentials = this.credentialsOf(request, params);
    if (credentials === undefined) {
      return { clientId: PUBLIC_CLIENT_ID, confidential: false, client: null };
    }
    if (credentials.method === 'private_key_jwt') {
      return this.authenticateByAssertion(request, credentials);
    }
    if (credentials.clientSecret === '') {
      // §2.3.1, §3.2.1: a public client names itself with client_id alone. A registered
      // public client is held to its registration; an unregistered one is the public
      // client, whose tokens carry the public client's id. Swagger UI names its client
      // in HTTP Basic with an empty secret, which is no secret either.
      const named = await this.clients.findById(credentials.clientId);
      if (named === null && credentials.method === 'client_secret_post')
        return {
          clientId: PUBLIC_CLIENT_ID,
          confidential: false,
          client: null,
        };
      if (named?.clientType === 'public')
        return { clientId: named.id, confidential: false, client: named };
    }
    const client = await this.clients.authenticate(
      credentials.clientId,
      credentials.clientSecret,
    );
    if (client === null) {
      await this.refuse(request, credentials.clientId, {
        method: credentials.method,
      });
      throw new InvalidClient('Client authentication failed.', this.realm);
    }
    return { clientId: client.id, confidential: true, client };
  }

  private async authenticateByAssertion(
    request: FastifyRequest,
    credentials: ClientAssertion,
  ): Promise<AuthenticatedClient> {
    try {
      if (credentials.assertionType !== JWT_BEARER_ASSERTION_TYPE) {
        throw new ClientAssertionRefused(
          credentials.clientId ?? '',
          'assertion_type',
          `client_assertion_type must be ${JWT_BEARER_ASSERTION_TYPE}.`,
        );
      }
      const client = await this.assertions.verify(
        credentials.assertion,
        credentials.clientId,
      );
      return { clientId: client.id, confidential: true, client };
    } catch (error) {
      if (!(error instanceof ClientAssertionRefused)) throw error;
      await this.refuse(request, error.clientId, {
        method: credentials.method,
        reason: error.reason,
      });
      throw new InvalidClient(error.description, this.realm);
    }
  }

  /** A failed client authentication: counted, then audited. */
  private async refuse(
    request: FastifyRequest,
    clientId: string,
    details: Record<string, string>,
  ): Promise<void> {
    await this.countFailure(clientId, request.ip);
    await this.events.recordRepeated(
      { type: 'client_authentication.failed', clientId, details },
      requestOrigin(request),
      `${clientKeyOf(request.ip)} ${clientId}`,
    );
  }

  /** Counts a failure against its address and its client id; over either limit, a 429 and no audit row. */
  private async countFailure(clientId: string, address: string): Promise<void> {
    const waits = await Promise.all([
      msToWait(this.failuresPerAddress, clientKeyOf(address)),
      // Hashed: the id is the caller's text, of any length.
      msToWait(
        this.failuresPerClient,
        createHash('sha256').update(clientId).digest('base64url'),
      ),
    ]);
    const waitMs = Math.max(...waits);
    if (waitMs > 0) {
      throw new TooManyRequestsException(
        'Too many failed client authentications.',
        waitMs,
      );
    }
  }

  /** §5.2: invalid_client also covers "no client authentication included" where one is needed. */
  requireConfidential(
    client: AuthenticatedClient,
    purpose: string,
  ): asserts client is Extract<AuthenticatedClient, { confidential: true }> {
    if (!client.confidential) {
      throw new InvalidClient(
        `${purpose} needs client authentication.`,
        this.realm,
      );
    }
  }

  private credentialsOf(
    request: FastifyRequest,
    params: TokenRequest,
  ): ClientCredentials | ClientAssertion | undefined {
    const basic = this.basicCredentials(request.headers.authorization);
    if (
      params.client_assertion !== undefined ||
      params.client_assertion_type !== undefined
    ) {
      if (basic !== undefined || params.client_secret !== undefined) {
        // §2.3: a client MUST NOT use more than one authentication method.
        throw new InvalidRequest(
          'Use one client authentication method, not two: a client assertion or a secret.',
        );
      }
      if (
        params.client_assertion === undefined ||
        params.client_assertion_type === undefined
      ) {
        throw new InvalidRequest(
          'client_assertion and client_assertion_type are sent together (RFC 7521 section 4.2).',
        );
      }
      return {
        method: 'private_key_jwt',
        clientId: params.client_id,
        assertionType: params.client_assertion_type,
        assertion: params.client_assertion,
      };
    }
    // RFC 6749 §3.2.1: `client_id` beside HTTP Basic only names the client, as
    // oauth4webapi sends it at the device authorization endpoint; it must name the same one.
    if (basic !== undefined && params.client_secret === undefined) {
      if (
        params.client_id !== undefined &&
        params.client_id !== basic.clientId
      ) {
        throw new InvalidRequest(
          'The client_id in the body is not the client of the Authorization header.',
        );
      }
      return basic;
    }
    const post =
      params.client_id === undefined && params.client_secret === undefined
        ? undefined
        : {
            clientId: params.client_id ?? '',
            clientSecret: params.client_secret ?? '',
            method: 'client_secret_post' as const,
          };
    if (basic !== undefined && post !== undefined) {
      // §2.3: a client MUST NOT use more than one authentication method.
      throw new InvalidRequest(
        'Use one client authentication method, not two.',
      );
    }
    return basic ?? post;
  }

  /** §2.3.1: id and secret are form-encoded, then joined for HTTP Basic. */
  private basicCredentials(
    header: string | undefined,
  ): ClientCredentials | undefined {
    if (header === undefined) return undefined;
    const [scheme, encoded] = header.split(' ', 2);
    if (scheme.toLowerCase() !== 'basic') return undefined;
    const decoded = Buffer.from(encoded ?? '', 'base64').toString('utf8');
    const separator = decoded.indexOf(':');
    if (separator < 0) {
      throw new InvalidClient(
        'Malformed HTTP Basic client credentials.',
        this.realm,
      );
    }
    try {
      const clientId = decodeURIComponent(
        decoded.slice(0, separator).replace(/\+/g, ' '),
      );
      const clientSecret = decodeURIComponent(
        decoded.slice(separator + 1).replace(/\+/g, ' '),
      );
      if (clientId === '' && clientSecret === '') return undefined;
      return { clientId, clientSecret, method: 'client_secret_basic' };
    } catch {
      throw new InvalidClient(
        'Malformed HTTP Basic client credentials.',
        this.realm,
      );
    }
  }
}

/** Consumes a point of `key`: 0 within the limit, otherwise the milliseconds until it has room. */
async function msToWait(
  limiter: RateLimiterAbstract,
  key: string,
): Promise<number> {
  try {
    await limiter.consume(key);
    return 0;
  } catch (rejection) {
    // The library rejects with its result when the limit is reached, with an Error when its store fails.
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    return Math.max(rejection.msBeforeNext, 1);
  }
}
