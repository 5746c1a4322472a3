import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { AuditEvent } from '../../src/audit/audit-event.entity.js';
import { expectOAuthError } from '../utils/expectations.js';
import type { CreatedClient } from '../utils/flows.js';
import {
  ADMIN,
  ADMIN_ENV,
  createClientAs,
  passwordGrant,
} from '../utils/flows.js';
import type { TestApp } from '../utils/test-app.js';
import { createTestApp } from '../utils/test-app.js';

const PER_ADDRESS_LIMIT = 20;
const PER_CLIENT_LIMIT = 40;
const ATTACKER = '198.51.100.7';
const ACCOMPLICE = '198.51.100.8';
const WRONG_SECRET = 'not-the-secret-of-the-resource-server';
/** Failed introspections from each of the two addresses. */
const FLOOD = 25;

/**
 * A loop of failed client authentications at the unthrottled endpoints
 * (RFC 7662 introspection, RFC 7009 revocation): each used to insert an
 * audit row kept for a year. Now the failures of one client id from one
 * address are one row per window, and past the limits a 429 that writes
 * nothing, while the client that knows its secret is never slowed.
 */
describe('a flood of failed client authentications', () => {
  let testApp: TestApp;
  let resourceServer: CreatedClient;
  /** A live access token, the one every introspection asks about. */
  let activeToken: string;

  const introspect = (from: string, id: string, secret: string) =>
    testApp
      .http()
      .post('/auth/introspect')
      .set('X-Forwarded-For', from)
      .auth(id, secret)
      .type('form')
      .send({ token: activeToken });
  const failureRows = () =>
    testApp.app
      .get(DataSource)
      .getRepository(AuditEvent)
      .findBy({ type: 'client_authentication.failed' });

  beforeAll(async () => {
    testApp = await createTestApp({
      ...ADMIN_ENV,
      TRUST_PROXY: 'loopback',
      THROTTLE_CLIENT_AUTH_FAILURE_LIMIT: String(PER_ADDRESS_LIMIT),
      THROTTLE_CLIENT_AUTH_FAILURE_PER_CLIENT_LIMIT: String(PER_CLIENT_LIMIT),
      THROTTLE_CLIENT_AUTH_FAILURE_TTL: '3600',
      // The longest window, so that the rows counted do not straddle two.
      AUDIT_REPEAT_WINDOW_SECONDS: '604800',
    });
    const adminToken = await passwordGrant(
      testApp,
      ADMIN.username,
      ADMIN.password,
    );
    resourceServer = await createClientAs(testApp, adminToken, {
      name: 'resource-server',
      allowedScopes: [],
      allowedGrantTypes: [],
    });
    activeToken = adminToken;
  });
  afterAll(() => testApp.close());

  /** FLOOD failed introspections from one address, one after the other. */
  const flood = async (from: string) => {
    const answers: Response[] = [];
    for (let i = 0; i < FLOOD; i++) {
      answers.push(await introspect(from, resourceServer.id, WRONG_SECRET));
    }
    return {
      statuses: answers.map((answer) => answer.status),
      last: answers[FLOOD - 1],
    };
  };

  it('answers 401 up to the per-address limit, then 429 with Retry-After in the RFC 6749 error format', async () => {
    const { statuses, last } = await flood(ATTACKER);

    expect(statuses).toEqual([
      ...Array<number>(PER_ADDRESS_LIMIT).fill(401),
      ...Array<number>(FLOOD - PER_ADDRESS_LIMIT).fill(429),
    ]);
    expectOAuthError(last, 429, 'temporarily_unavailable');
    expect(Number(last.headers['retry-after'])).toBeGreaterThan(60);
  });

  it('limits the failures of one client id from every address together', async () => {
    const { statuses } = await flood(ACCOMPLICE);

    // The attacker's failures, refused ones too, already count against the client id.
    expect(statuses).toEqual([
      ...Array<number>(PER_CLIENT_LIMIT - FLOOD).fill(401),
      ...Array<number>(2 * FLOOD - PER_CLIENT_LIMIT).fill(429),
    ]);
  });

  it('never refuses the client that presents its secret, from the flooding address or any other', async () => {
    for (const from of [ATTACKER, ACCOMPLICE, '192.0.2.10']) {
      const response = await introspect(
        from,
        resourceServer.id,
        resourceServer.clientSecret,
      );
      expect({ status: response.status, active: response.body.active }).toEqual(
        { status: 200, active: true },
      );
    }
  });

  it('limits revocation alike: the same failures, the same 429', async () => {
    const response = await testApp
      .http()
      .post('/auth/revoke')
      .set('X-Forwarded-For', ATTACKER)
      .auth(resourceServer.id, WRONG_SECRET)
      .type('form')
      .send({ token: 'whatever' });

    expectOAuthError(response, 429, 'temporarily_unavailable');
  });

  it('leaves one audit row per client and address for those 50 failures, the 401s counted on it', async () => {
    const rows = await failureRows();

    expect(
      rows
        .map((row) => ({
          clientId: row.clientId,
          ipAddress: row.ipAddress,
          details: row.details,
        }))
        .sort((a, b) => a.ipAddress!.localeCompare(b.ipAddress!)),
    ).toEqual([
      // Brought up to date at 1, 2, 4, 8, 16: 20 and 15 failures were answered 401.
      {
        clientId: resourceServer.id,
        ipAddress: ATTACKER,
        details: { method: 'client_secret_basic', attempts: 16 },
      },
      {
        clientId: resourceServer.id,
        ipAddress: ACCOMPLICE,
        details: { method: 'client_secret_basic', attempts: 8 },
      },
    ]);
  });
});

describe('failed client authentications on two instances sharing one database', () => {
  it('are one audit row between them: each derives its id from the client, the address and the window', async () => {
    const env = {
      TRUST_PROXY: 'loopback',
      AUDIT_REPEAT_WINDOW_SECONDS: '604800',
    };
    const first = await createTestApp(env);
    const second = await createTestApp({
      ...env,
      DATABASE_URL: first.databaseUrl,
    });
    try {
      for (const instance of [first, second, first, second]) {
        await instance
          .http()
          .post('/auth/introspect')
          .set('X-Forwarded-For', ATTACKER)
          .auth('no-such-client', WRONG_SECRET)
          .type('form')
          .send({ token: 'whatever' })
          .expect(401);
      }

      const rows = await first.app
        .get(DataSource)
        .getRepository(AuditEvent)
        .findBy({ type: 'client_authentication.failed' });

      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        clientId: 'no-such-client',
        ipAddress: ATTACKER,
      });
    } finally {
      await second.close();
      await first.close();
    }
  });
});
