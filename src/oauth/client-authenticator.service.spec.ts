import { beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import type { FastifyRequest } from 'fastify';
import type { Client } from '../clients/client.entity.js';
import { SecurityEvents } from '../audit/security-events.service.js';
import { ClientsService } from '../clients/clients.service.js';
import { validateEnv } from '../config/env.js';
import { RateLimiters } from '../rate-limiting/rate-limiters.service.js';
import { REDIS_CLIENT } from '../redis/redis.module.js';
import { ClientAuthenticator } from './client-authenticator.service.js';
import { ClientAssertionVerifier } from './client-assertion-verifier.service.js';
import { InvalidClient, InvalidRequest } from './protocol/oauth.errors.js';
import type { TokenRequest } from './protocol/token-request.js';

/** The one registered client, with the secret it was given. */
const BILLING = { id: 'billing', name: 'Billing service' } as Client;
const BILLING_SECRET = 's3cret:with+specials';

const PUBLIC_CLIENT = { clientId: 'public', confidential: false, client: null };

/** A token request as far as client authentication reads it. */
function requestWith(authorization?: string): FastifyRequest {
  const headers = authorization === undefined ? {} : { authorization };
  return { headers, ip: '192.0.2.1' } as FastifyRequest;
}

/** RFC 6749 §2.3.1: id and secret are form-encoded before they are joined. */
function basic(id: string, secret: string): string {
  const encode = (value: string) =>
    encodeURIComponent(value).replace(/%20/g, '+');
  const joined = `${encode(id)}:${encode(secret)}`;
  return `Basic ${Buffer.from(joined).toString('base64')}`;
}

const PASSWORD_GRANT: TokenRequest = {
  grant_type: 'password',
  username: 'alice',
  password: 'violet anchor drizzle pumpkin',
  resource: [],
  audience: [],
};

/** RFC 6749 §2.3: who is asking for a token. */
describe('ClientAuthenticator.authenticate()', () => {
  const clients: Pick<ClientsService, 'authenticate'> = {
    authenticate: (id, secret) =>
      Promise.resolve(
        id === BILLING.id && secret === BILLING_SECRET ? BILLING : null,
      ),
  };
  const auditLog: Pick<SecurityEvents, 'record' | 'recordRepeated'> = {
    record: () => Promise.resolve(),
    recordRepeated: () => Promise.resolve(),
  };
  let authenticator: ClientAuthenticator;
  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      providers: [
        ClientAuthenticator,
        { provide: ClientsService, useValue: clients },
        // The audit log is the e2e tests' to check; here a failure only has to be answered.
        { provide: SecurityEvents, useValue: auditLog },
        // Client assertions are the e2e tests' (client-assertion.e2e-spec.ts): they need real keys.
        { provide: ClientAssertionVerifier, useValue: {} },
        // The limits' own counters, in memory: failures here stay far below them.
        RateLimiters,
        { provide: REDIS_CLIENT, useValue: null },
        {
          provide: ConfigService,
          useValue: new ConfigService(
            validateEnv({ PUBLIC_URL: 'https://auth.example.com' }),
          ),
        },
      ],
    }).compile();
    authenticator = moduleRef.get(ClientAuthenticator);
  });

  /** What authenticate() rejects with, for assertions on status and headers. */
  async function failureOf(
    request: FastifyRequest,
    params = PASSWORD_GRANT,
  ): Promise<unknown> {
    try {
      await authenticator.authenticate(request, params);
    } catch (error) {
      return error;
    }
    throw new Error('authenticate() did not fail');
  }

  describe('the public client (no client authentication)', () => {
    it('is who sends no client credentials', async () => {
      expect(
        await authenticator.authenticate(requestWith(), PASSWORD_GRANT),
      ).toEqual(PUBLIC_CLIENT);
    });

    it("is who sends Swagger UI's empty HTTP Basic credentials (Og==)", async () => {
      expect(
        await authenticator.authenticate(
          requestWith('Basic Og=='),
          PASSWORD_GRANT,
        ),
      ).toEqual(PUBLIC_CLIENT);
    });

    it('is who sends an Authorization header of another scheme, such as Bearer', async () => {
      expect(
        await authenticator.authenticate(
          requestWith('Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln'),
          PASSWORD_GRANT,
        ),
      ).toEqual(PUBLIC_CLIENT);
    });
  });

  describe('a registered client', () => {
    it('authenticates with HTTP Basic, its credentials form-decoded (§2.3.1)', async () => {
      expect(
        await authenticator.authenticate(
          requestWith(basic(BILLING.id, BILLING_SECRET)),
          PASSWORD_GRANT,
        ),
      ).toEqual({ clientId: 'billing', confidential: true, client: BILLING });
    });

    it('§3.2.1: authenticates with HTTP Basic and its own client_id in the body, which only names it', async () => {
      expect(
        await authenticator.authenticate(
          requestWith(basic(BILLING.id, BILLING_SECRET)),
          { ...PASSWORD_GRANT, client_id: BILLING.id },
        ),
      ).toEqual({ clientId: 'billing', confidential: true, client: BILLING });
    });

    it('authenticates with client_id and client_secret in the body', async () => {
      expect(
        await authenticator.authenticate(requestWith(), {
          ...PASSWORD_GRANT,
          client_id: BILLING.id,
          client_secret: BILLING_SECRET,
        }),
      ).toMatchObject({ clientId: 'billing', confidential: true });
    });
  });

  describe('failed client authentication', () => {
    it('§5.2: answers unknown HTTP Basic credentials with 401 invalid_client and a Basic challenge', async () => {
      const error = await failureOf(requestWith(basic('billing', 'wrong')));

      expect(error).toBeInstanceOf(InvalidClient);
      const invalidClient = error as InvalidClient;
      expect(invalidClient.getStatus()).toBe(401);
      expect(invalidClient.error).toBe('invalid_client');
      expect(invalidClient.headers['WWW-Authenticate']).toMatch(
        /^Basic realm="https:\/\/auth\.example\.com"/,
      );
    });

    it('answers unknown client_id and client_secret in the body with invalid_client', async () => {
      const error = await failureOf(requestWith(), {
        ...PASSWORD_GRANT,
        client_id: 'billing',
        client_secret: 'wrong',
      });

      expect(error).toBeInstanceOf(InvalidClient);
    });

    it('answers HTTP Basic credentials without a colon with invalid_client', async () => {
      const noColon = `Basic ${Buffer.from('billing').toString('base64')}`;

      expect(await failureOf(requestWith(noColon))).toBeInstanceOf(
        InvalidClient,
      );
    });

    it('answers HTTP Basic with another client_id in the body with 400 invalid_request', async () => {
      const error = await failureOf(
        requestWith(basic(BILLING.id, BILLING_SECRET)),
        { ...PASSWORD_GRANT, client_id: 'someone-else' },
      );

      expect(error).toBeInstanceOf(InvalidRequest);
    });

    it('§2.3: answers credentials both in HTTP Basic and in the body with 400 invalid_request', async () => {
      const error = await failureOf(
        requestWith(basic(BILLING.id, BILLING_SECRET)),
        {
          ...PASSWORD_GRANT,
          client_id: BILLING.id,
          client_secret: BILLING_SECRET,
        },
      );

      expect(error).toBeInstanceOf(InvalidRequest);
      expect((error as InvalidRequest).getStatus()).toBe(400);
    });
  });
});
