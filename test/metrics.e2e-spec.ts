import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  BEARER_PREFIX,
  expectProblem,
  MISSING_TOKEN_CHALLENGE,
} from './utils/expectations.js';
import type { TokenBody } from './utils/flows.js';
import {
  ADMIN,
  ADMIN_ENV,
  createClientAs,
  passwordGrant,
  registerUser,
  tokenClient,
} from './utils/flows.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp } from './utils/test-app.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition; comments (HELP, TYPE) left out. */
function samplesOf(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (match === null) throw new Error(`not a sample line: ${line}`);
      const labels = Object.fromEntries(
        [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(
          ([, name, value]) => [name, value],
        ),
      );
      return { name: match[1], labels, value: Number(match[3]) };
    });
}

/** The value of the one sample with this name and these labels (0 when absent, as Prometheus reads it). */
function valueOf(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number {
  const found = samples.filter(
    (sample) =>
      sample.name === name &&
      Object.entries(labels).every(
        ([key, value]) => sample.labels[key] === value,
      ),
  );
  expect(found.length).toBeLessThanOrEqual(1);
  return found[0]?.value ?? 0;
}

describe('GET /metrics', () => {
  describe('METRICS=off (the default)', () => {
    let testApp: TestApp;
    beforeAll(async () => {
      testApp = await createTestApp(ADMIN_ENV);
    });
    afterAll(() => testApp.close());

    it('answers 404, as for a route that does not exist, even to an administrator', async () => {
      const adminToken = await passwordGrant(
        testApp,
        ADMIN.username,
        ADMIN.password,
      );
      expectProblem(await testApp.http().get('/metrics'), 404, '/metrics');
      expectProblem(
        await testApp
          .http()
          .get('/metrics')
          .set('Authorization', `Bearer ${adminToken}`),
        404,
        '/metrics',
      );
    });
  });

  describe('METRICS=open', () => {
    let testApp: TestApp;
    let samples: Sample[];
    let exposition: { text: string; contentType: string };
    let aliceId: string;

    const { login, loginRequest, refresh } = tokenClient(() => testApp);

    beforeAll(async () => {
      testApp = await createTestApp({ ...ADMIN_ENV, METRICS: 'open' });
      const adminToken = await passwordGrant(
        testApp,
        ADMIN.username,
        ADMIN.password,
      );
      aliceId = (await registerUser(testApp, 'alice')).id;

      // Two logins, one failure, a refresh, a reuse, a client's token, and requests by id.
      const first = await login();
      await login();
      await loginRequest('alice', 'not the password of alice').expect(400);
      const second = (await refresh(first.refresh_token).expect(200))
        .body as TokenBody;
      await refresh(first.refresh_token).expect(400);
      expect(second.refresh_token).toEqual(expect.any(String));
      const service = await createClientAs(testApp, adminToken, {
        name: 'billing',
        allowedScopes: ['users:read'],
        allowedGrantTypes: ['client_credentials'],
      });
      await testApp
        .http()
        .post('/auth/token')
        .type('form')
        .auth(service.id, service.clientSecret)
        .send({ grant_type: 'client_credentials' })
        .expect(200);
      for (const id of [aliceId, '3f1b9a52-7c4e-4b8f-9d2a-6e5c1f0b8a47']) {
        await testApp
          .http()
          .get(`/users/${id}`)
          .set('Authorization', `Bearer ${adminToken}`);
      }
      await testApp.http().get(`/no/such/path/${aliceId}`).expect(404);

      const response = await testApp.http().get('/metrics').expect(200);
      exposition = {
        text: response.text,
        contentType: response.headers['content-type'],
      };
      samples = samplesOf(response.text);
    });
    afterAll(() => testApp.close());

    it('answers anyone with the Prometheus text format', () => {
      expect(exposition.contentType).toBe(
        'text/plain; version=0.0.4; charset=utf-8',
      );
      expect(exposition.text).toContain('# TYPE auth_logins_total counter');
    });

    it('shows every login outcome and grant type from the start, at 0 until it happens', () => {
      expect(
        samples.filter(
          (sample) =>
            sample.name === 'auth_logins_total' &&
            sample.labels.outcome === 'superseded',
        ),
      ).toEqual([
        {
          name: 'auth_logins_total',
          labels: { outcome: 'superseded' },
          value: 0,
        },
      ]);
    });

    it('counts logins by outcome', () => {
      // The administrator's login and alice's two.
      expect(
        valueOf(samples, 'auth_logins_total', { outcome: 'success' }),
      ).toBe(3);
      expect(
        valueOf(samples, 'auth_logins_total', {
          outcome: 'invalid_credentials',
        }),
      ).toBe(1);
    });

    it('counts tokens issued by grant type', () => {
      const issued = (grantType: string) =>
        valueOf(samples, 'auth_tokens_issued_total', { grant_type: grantType });
      expect({
        password: issued('password'),
        refresh_token: issued('refresh_token'),
        client_credentials: issued('client_credentials'),
      }).toEqual({ password: 3, refresh_token: 1, client_credentials: 1 });
    });

    it('counts password grants per client, granted and refused: who still uses the grant', () => {
      const grants = (outcome: string) =>
        valueOf(samples, 'auth_password_grants_total', {
          client_id: 'public',
          outcome,
        });
      // The administrator's login and alice's two; her wrong password.
      expect({
        granted: grants('granted'),
        refused: grants('refused'),
      }).toEqual({ granted: 3, refused: 1 });
    });

    it('counts refresh-token reuse', () => {
      expect(valueOf(samples, 'auth_refresh_token_reuse_total')).toBe(1);
    });

    it('counts and times HTTP requests by method, route pattern and status, never the raw URL', () => {
      const byId = { method: 'GET', route: '/users/{id}' };
      expect(
        valueOf(samples, 'http_requests_total', { ...byId, status: '200' }),
      ).toBe(1);
      expect(
        valueOf(samples, 'http_requests_total', { ...byId, status: '404' }),
      ).toBe(1);
      expect(
        valueOf(samples, 'http_request_duration_seconds_count', {
          ...byId,
          status: '200',
        }),
      ).toBe(1);
      expect(
        valueOf(samples, 'http_requests_total', {
          method: 'POST',
          route: '/auth/token',
          status: '200',
        }),
      ).toBe(5);
      // Paths that match no route share one series, whatever they are.
      expect(
        valueOf(samples, 'http_requests_total', {
          method: 'GET',
          route: 'unmatched',
          status: '404',
        }),
      ).toBe(1);
      expect(exposition.text).not.toContain(aliceId);
      expect(exposition.text).not.toContain('/no/such/path');
    });

    it("includes prom-client's default process metrics", () => {
      expect(
        samples.some((sample) => sample.name === 'process_cpu_seconds_total'),
      ).toBe(true);
      expect(
        samples.some((sample) => sample.name === 'nodejs_heap_size_used_bytes'),
      ).toBe(true);
    });
  });

  describe('METRICS=bearer', () => {
    let testApp: TestApp;
    let adminToken: string;
    beforeAll(async () => {
      testApp = await createTestApp({ ...ADMIN_ENV, METRICS: 'bearer' });
      adminToken = await passwordGrant(testApp, ADMIN.username, ADMIN.password);
    });
    afterAll(() => testApp.close());

    const scrape = (token?: string) => {
      const request = testApp.http().get('/metrics');
      return token === undefined
        ? request
        : request.set('Authorization', `Bearer ${token}`);
    };

    /** A client_credentials token of a client registered with these scopes. */
    async function clientToken(allowedScopes: string[]): Promise<string> {
      const client = await createClientAs(testApp, adminToken, {
        name: 'prometheus',
        allowedScopes,
        allowedGrantTypes: ['client_credentials'],
      });
      const response = await testApp
        .http()
        .post('/auth/token')
        .type('form')
        .auth(client.id, client.clientSecret)
        .send({ grant_type: 'client_credentials' })
        .expect(200);
      return (response.body as { access_token: string }).access_token;
    }

    it('RFC 6750 §3.1: answers 401 with the bare challenge without a token', async () => {
      const response = await scrape();
      expectProblem(response, 401, '/metrics');
      expect(response.headers['www-authenticate']).toBe(
        MISSING_TOKEN_CHALLENGE,
      );
    });

    it('RFC 6750 §3.1: answers 401 invalid_token to a bad token', async () => {
      const response = await scrape('not-a-token');
      expectProblem(response, 401, '/metrics');
      expect(response.headers['www-authenticate']).toContain(
        'error="invalid_token"',
      );
    });

    it('RFC 6750 §3.1: answers 403 insufficient_scope to a token without metrics:read', async () => {
      await registerUser(testApp, 'alice');
      for (const token of [
        await passwordGrant(testApp, 'alice'),
        await clientToken(['users:read']),
      ]) {
        const response = await scrape(token);
        expectProblem(response, 403, '/metrics');
        expect(response.headers['www-authenticate']).toBe(
          `${BEARER_PREFIX}, error="insufficient_scope", scope="metrics:read"`,
        );
      }
    });

    it("serves a Prometheus client's token with metrics:read, and an administrator's", async () => {
      const response = await scrape(await clientToken(['metrics:read'])).expect(
        200,
      );
      expect(response.text).toContain('# TYPE http_requests_total counter');
      await scrape(adminToken).expect(200);
    });
  });
});
