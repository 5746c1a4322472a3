import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import { DataSource } from 'typeorm';
import { DeviceAuthorization } from '../src/oauth/device/device-authorization.entity.js';
import { DeviceFlow } from '../src/oauth/device/device-flow.service.js';
import type { DeviceAuthorizationResponse } from '../src/oauth/device/device-flow.service.js';
import { UsersService } from '../src/users/users.service.js';
import { useMovableClock } from './utils/clock.js';
import { expectOAuthError } from './utils/expectations.js';
import {
  ADMIN,
  ADMIN_ENV,
  createClientAs,
  passwordGrant,
  registerUser,
  tokenClient,
} from './utils/flows.js';
import type { CreatedClient, TokenBody } from './utils/flows.js';
import { appForOauth4webapi, LOOPBACK } from './utils/oauth4webapi.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp, TEST_PUBLIC_URL } from './utils/test-app.js';

const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';
const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;

/**
 * What the /device page does once its user is signed in: the page is the
 * browser's side; these tests drive the same service it calls.
 */
async function decide(
  testApp: TestApp,
  userCode: string,
  username: string,
  decision: 'approve' | 'deny',
): Promise<boolean> {
  const flow = testApp.app.get(DeviceFlow);
  const pending = await flow.pending(userCode);
  if (pending === null) return false;
  const user = await testApp.app.get(UsersService).findByUsername(username);
  return decision === 'approve'
    ? flow.approve(pending, user!)
    : flow.deny(pending, user!);
}

describe('the device flow for command-line tools (RFC 8628)', () => {
  let testApp: TestApp;
  let cli: CreatedClient;
  let other: CreatedClient;
  const clock = useMovableClock();
  const { me } = tokenClient(() => testApp);

  beforeAll(async () => {
    testApp = await createTestApp(ADMIN_ENV);
    const adminToken = await passwordGrant(
      testApp,
      ADMIN.username,
      ADMIN.password,
    );
    await registerUser(testApp, 'alice');
    const deviceClient = (name: string) =>
      createClientAs(testApp, adminToken, {
        name,
        allowedScopes: ['profile', 'users:read'],
        allowedGrantTypes: [DEVICE_CODE, 'refresh_token'],
      });
    cli = await deviceClient('acme-cli');
    other = await deviceClient('other-cli');
  });
  afterAll(() => testApp.close());

  const authorize = (
    client: CreatedClient | null,
    form: Record<string, string> = {},
  ) => {
    const request = testApp.http().post('/auth/device_authorization');
    if (client) request.auth(client.id, client.clientSecret);
    return request.type('form').send(form);
  };

  const started = async (form: Record<string, string> = {}) =>
    (await authorize(cli, form).expect(200))
      .body as DeviceAuthorizationResponse;

  const poll = (deviceCode: string, client: CreatedClient = cli) =>
    testApp
      .http()
      .post('/auth/token')
      .auth(client.id, client.clientSecret)
      .type('form')
      .send({ grant_type: DEVICE_CODE, device_code: deviceCode });

  /** The tool waits its interval before it polls again, as §3.5 asks. */
  const waitInterval = (authorization: { interval: number }) =>
    clock.advance(authorization.interval * 1000);

  describe('POST /auth/device_authorization', () => {
    it('answers the device code, a user code to type, where to type it, and how often to poll', async () => {
      const response = await authorize(cli, { scope: 'profile' }).expect(200);
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.body).toEqual({
        device_code: expect.stringMatching(/^[\w-]{43}$/),
        user_code: expect.stringMatching(USER_CODE),
        verification_uri: `${TEST_PUBLIC_URL}/device`,
        verification_uri_complete: `${TEST_PUBLIC_URL}/device?user_code=${response.body.user_code as string}`,
        expires_in: 600,
        interval: 5,
      });
    });

    it('refuses a client without the device grant, and the public client (unauthorized_client)', async () => {
      const adminToken = await passwordGrant(
        testApp,
        ADMIN.username,
        ADMIN.password,
      );
      const noDevice = await createClientAs(testApp, adminToken, {
        name: 'service',
        allowedScopes: [],
        allowedGrantTypes: ['client_credentials'],
      });
      expectOAuthError(await authorize(noDevice), 400, 'unauthorized_client');
      expectOAuthError(await authorize(null), 400, 'unauthorized_client');
    });

    it('refuses a scope the client may not ask for (invalid_scope) and an unknown resource (invalid_target), before any user sees it', async () => {
      expectOAuthError(
        await authorize(cli, { scope: 'users:write' }),
        400,
        'invalid_scope',
      );
      expectOAuthError(
        await authorize(cli, { resource: 'https://unknown.example.test' }),
        400,
        'invalid_target',
      );
    });

    it('refuses a wrong client secret (401 invalid_client)', async () => {
      const response = await testApp
        .http()
        .post('/auth/device_authorization')
        .auth(cli.id, 'not the secret')
        .type('form')
        .send({});
      expectOAuthError(response, 401, 'invalid_client');
    });
  });

  describe('polling the token endpoint', () => {
    it('answers authorization_pending, slow_down to a poll too soon, then the tokens once approved, once', async () => {
      const authorization = await started({ scope: 'profile' });
      expectOAuthError(
        await poll(authorization.device_code),
        400,
        'authorization_pending',
      );
      // Again at once: too soon (§3.5), and the interval grows by five seconds.
      const tooSoon = await poll(authorization.device_code);
      expectOAuthError(tooSoon, 400, 'slow_down');
      expect(tooSoon.body.error_description).toContain('10 seconds');
      clock.advance(10_000);
      expectOAuthError(
        await poll(authorization.device_code),
        400,
        'authorization_pending',
      );

      expect(
        await decide(testApp, authorization.user_code, 'alice', 'approve'),
      ).toBe(true);
      clock.advance(10_000);
      const granted = await poll(authorization.device_code).expect(200);
      const body = granted.body as TokenBody;
      expect(body).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: expect.any(Number),
        refresh_token: expect.any(String),
        scope: 'profile',
      });
      expect(decodeJwt(body.access_token)).toMatchObject({
        client_id: cli.id,
        scope: 'profile',
      });
      await me(body.access_token).expect(200);

      clock.advance(10_000);
      expectOAuthError(
        await poll(authorization.device_code),
        400,
        'invalid_grant',
      );
    });

    it('lengthens the interval once for each of two polls too soon that race (§3.5)', async () => {
      const authorization = await started();
      expectOAuthError(
        await poll(authorization.device_code),
        400,
        'authorization_pending',
      );
      // Both polls read the authorization before either writes, as two
      // instances may: each read waits for the other.
      const repository = testApp.app
        .get(DataSource)
        .getRepository(DeviceAuthorization);
      const read = repository.findOneBy.bind(repository);
      let reads = 0;
      let bothRead: () => void = () => undefined;
      const barrier = new Promise<void>((resolve) => (bothRead = resolve));
      const spy = jest
        .spyOn(repository, 'findOneBy')
        .mockImplementation(async (where) => {
          const found = await read(where);
          if (++reads === 2) bothRead();
          await barrier;
          return found;
        });
      const racing = await Promise.all([
        poll(authorization.device_code),
        poll(authorization.device_code),
      ]).finally(() => spy.mockRestore());
      for (const response of racing)
        expectOAuthError(response, 400, 'slow_down');
      expect(
        racing.map((response) => response.body.error_description as string),
      ).toContain('Poll at most every 15 seconds.');
      const stored = await testApp.app
        .get(DataSource)
        .getRepository(DeviceAuthorization)
        .findOneByOrFail({
          userCode: authorization.user_code.replace('-', ''),
        });
      expect(stored.pollInterval).toBe(15);
    });

    it('answers access_denied once the user refused', async () => {
      const authorization = await started();
      expect(
        await decide(testApp, authorization.user_code, 'alice', 'deny'),
      ).toBe(true);
      expectOAuthError(
        await poll(authorization.device_code),
        400,
        'access_denied',
      );
      // Decided: a second decision changes nothing.
      expect(
        await decide(testApp, authorization.user_code, 'alice', 'approve'),
      ).toBe(false);
    });

    it('answers expired_token once the codes expired, and the code can no longer be approved', async () => {
      const authorization = await started();
      clock.advance(601_000);
      expect(
        await decide(testApp, authorization.user_code, 'alice', 'approve'),
      ).toBe(false);
      expectOAuthError(
        await poll(authorization.device_code),
        400,
        'expired_token',
      );
    });

    it("refuses another client's device code, and one that never was (invalid_grant)", async () => {
      const authorization = await started();
      expectOAuthError(
        await poll(authorization.device_code, other),
        400,
        'invalid_grant',
      );
      expectOAuthError(await poll('not-a-device-code'), 400, 'invalid_grant');
      expectOAuthError(
        await testApp
          .http()
          .post('/auth/token')
          .auth(cli.id, cli.clientSecret)
          .type('form')
          .send({ grant_type: DEVICE_CODE }),
        400,
        'invalid_request',
      );
    });

    it('grants no more than the user may have: a scope beyond their roles cannot be approved', async () => {
      const authorization = await started({ scope: 'users:read' });
      await expect(
        decide(testApp, authorization.user_code, 'alice', 'approve'),
      ).rejects.toMatchObject({ error: 'invalid_scope' });
    });

    it('refuses the tokens once the API let the client out since the approval (invalid_grant), without spending the code', async () => {
      const adminToken = await passwordGrant(
        testApp,
        ADMIN.username,
        ADMIN.password,
      );
      const admin = () => ({ Authorization: `Bearer ${adminToken}` });
      const api = (
        await testApp
          .http()
          .post('/resource-servers')
          .set(admin())
          .send({
            identifier: 'https://builds.example.test',
            name: 'Builds API',
            scopes: [
              { name: 'builds:read', description: 'x', roles: ['user'] },
            ],
          })
          .expect(201)
      ).body as { id: string };
      const access = `/resource-servers/${api.id}/clients/${cli.id}`;
      const letIn = () =>
        testApp
          .http()
          .put(access)
          .set(admin())
          .send({ scopes: ['builds:read'] })
          .expect(200);
      await letIn();
      const authorization = await started({
        resource: 'https://builds.example.test',
      });
      expect(
        await decide(testApp, authorization.user_code, 'alice', 'approve'),
      ).toBe(true);
      await testApp.http().delete(access).set(admin()).expect(204);
      const refused = await poll(authorization.device_code);
      expectOAuthError(refused, 400, 'invalid_grant');
      expect(refused.body.error_description).toBe(
        'The API this session signed in to no longer lets this client in; log in again.',
      );
      await letIn();
      waitInterval(authorization);
      const tokens = await poll(authorization.device_code).expect(200);
      expect(tokens.body.scope).toBe('builds:read');
    });

    it('refreshes only for the API the user approved (RFC 8707 §2.2: within the original grant), not for another', async () => {
      const adminToken = await passwordGrant(
        testApp,
        ADMIN.username,
        ADMIN.password,
      );
      const api = (
        await testApp
          .http()
          .post('/resource-servers')
          .set('Authorization', `Bearer ${adminToken}`)
          .send({
            identifier: 'https://deploys.example.test',
            name: 'Deploys API',
            scopes: [{ name: 'deploy', description: 'x', roles: ['user'] }],
          })
          .expect(201)
      ).body as { id: string };
      await testApp
        .http()
        .put(`/resource-servers/${api.id}/clients/${cli.id}`)
        .set('Authorization', `Bearer ${adminToken}`)
        .send({ scopes: ['deploy'] })
        .expect(200);
      const authorization = await started({ scope: 'profile' });
      await decide(testApp, authorization.user_code, 'alice', 'approve');
      const tokens = (await poll(authorization.device_code).expect(200))
        .body as TokenBody;
      const refreshAt = (resource?: string) =>
        testApp
          .http()
          .post('/auth/token')
          .auth(cli.id, cli.clientSecret)
          .type('form')
          .send({
            grant_type: 'refresh_token',
            refresh_token: tokens.refresh_token,
            ...(resource === undefined ? {} : { resource }),
          });
      const refused = await refreshAt('https://deploys.example.test');
      expectOAuthError(refused, 400, 'invalid_target');
      expect(refused.body.error_description).toBe(
        'This session was granted for one API: sign in again for another.',
      );
      // Refused before it was spent: the session's own audience still refreshes.
      const next = await refreshAt().expect(200);
      expect(next.body.scope).toBe('profile');
    });

    it('reads the user code as a person types it: any case, spaces and dashes', async () => {
      const authorization = await started();
      const typed = ` ${authorization.user_code.toLowerCase().replace('-', ' ')} `;
      expect(await decide(testApp, typed, 'alice', 'approve')).toBe(true);
    });

    it('records the login in the audit log as a device_code one', async () => {
      const authorization = await started();
      await decide(testApp, authorization.user_code, 'alice', 'approve');
      waitInterval(authorization);
      await poll(authorization.device_code).expect(200);
      const adminToken = await passwordGrant(
        testApp,
        ADMIN.username,
        ADMIN.password,
      );
      const events = await testApp
        .http()
        .get('/audit-events?type=login.succeeded')
        .set('Authorization', `Bearer ${adminToken}`)
        .expect(200);
      expect(events.body.items[1]).toMatchObject({
        username: 'alice',
        clientId: cli.id,
        details: { grantType: 'device_code' },
      });
    });
  });
});

/** The same flow, driven by a strict client written elsewhere: panva's oauth4webapi. */
describe('the device flow with oauth4webapi', () => {
  let testApp: TestApp;
  let as: oauth.AuthorizationServer;
  let cli: CreatedClient;
  const options = LOOPBACK;
  const clock = useMovableClock();

  beforeAll(async () => {
    let adminToken: string;
    ({ testApp, adminToken, as } = await appForOauth4webapi());
    await registerUser(testApp, 'alice');
    cli = await createClientAs(testApp, adminToken, {
      name: 'acme-cli',
      allowedScopes: ['profile'],
      allowedGrantTypes: [DEVICE_CODE, 'refresh_token'],
    });
  });
  afterAll(() => testApp.close());

  it('discovers the endpoint, starts, is told to wait, and gets tokens once alice approves', async () => {
    expect(as.device_authorization_endpoint).toBe(
      `${as.issuer}/auth/device_authorization`,
    );
    expect(as.grant_types_supported).toContain(DEVICE_CODE);
    const client: oauth.Client = { client_id: cli.id };
    const authentication = oauth.ClientSecretBasic(cli.clientSecret);
    const started = await oauth.processDeviceAuthorizationResponse(
      as,
      client,
      await oauth.deviceAuthorizationRequest(
        as,
        client,
        authentication,
        new URLSearchParams({ scope: 'profile' }),
        options,
      ),
    );
    const pollOnce = async () =>
      oauth.processDeviceCodeResponse(
        as,
        client,
        await oauth.deviceCodeGrantRequest(
          as,
          client,
          authentication,
          started.device_code,
          options,
        ),
      );
    await expect(pollOnce()).rejects.toMatchObject({
      error: 'authorization_pending',
    });
    expect(await decide(testApp, started.user_code, 'alice', 'approve')).toBe(
      true,
    );
    clock.advance((started.interval ?? 5) * 1000);
    const tokens = await pollOnce();
    expect(tokens.scope).toBe('profile');
    expect(tokens.refresh_token).toEqual(expect.any(String));
  });
});
