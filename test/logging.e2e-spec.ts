import {
  afterAll,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
} from '@jest/globals';
import { PinoLogger } from 'nestjs-pino';
import { Writable } from 'node:stream';
import type { Response } from 'supertest';
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

/** One parsed log line, as pino writes it in production. */
interface LogLine {
  level: number;
  time: string;
  msg: string;
  reqId?: string;
  context?: string;
  req?: { method: string; url: string };
  res?: { statusCode: number };
  responseTime?: number;
}

const UUID =
  /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * The real log output of the production configuration: the app writes to
 * this stream instead of stdout. The logger is process-wide, so the whole
 * file shares one app and one capture.
 */
const written: string[] = [];
const capture = new Writable({
  write(chunk: Buffer, _encoding, done) {
    written.push(chunk.toString());
    done();
  },
});

/** The lines written so far, parsed; throws if one is not a JSON object. */
const logLines = (): LogLine[] =>
  written
    .join('')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as LogLine);

/** Every line logged with this request id (the request line included). */
const linesOf = (reqId: string) =>
  logLines().filter((line) => line.reqId === reqId);

describe('logs', () => {
  let testApp: TestApp;
  /** What the app logged while starting. */
  let startup: LogLine[];

  beforeAll(async () => {
    testApp = await createTestApp(
      { ...ADMIN_ENV, NODE_ENV: 'production', LOG_LEVEL: 'info' },
      { logDestination: capture },
    );
    startup = logLines();
  });
  afterAll(() => testApp.close());
  beforeEach(() => {
    written.length = 0;
  });

  /** The request's one completion line; the id is the one echoed to the client. */
  const requestLineOf = (response: Response): LogLine => {
    const reqId = response.headers['x-request-id'];
    const lines = linesOf(reqId).filter((line) => line.req !== undefined);
    expect(lines).toHaveLength(1);
    return lines[0];
  };

  describe('in production', () => {
    it('are JSON lines with level, time, message and the request id', async () => {
      const response = await testApp.http().get('/health/live').expect(200);

      const line = requestLineOf(response);
      expect(line).toEqual(
        expect.objectContaining({
          level: 30,
          time: expect.stringMatching(
            /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
          ),
          msg: 'GET /health/live 200',
          reqId: response.headers['x-request-id'],
          req: { method: 'GET', url: '/health/live' },
          res: { statusCode: 200 },
          responseTime: expect.any(Number),
        }),
      );
    });

    it("carry Nest's own logs and the services' through the same logger", () => {
      expect(startup).toContainEqual(
        expect.objectContaining({
          level: 30,
          context: 'UsersService',
          msg: `No admin existed: created the admin user "${ADMIN.username}" from ADMIN_USERNAME`,
        }),
      );
      expect(startup).toContainEqual(
        expect.objectContaining({
          level: 30,
          context: 'NestApplication',
          msg: 'Nest application successfully started',
        }),
      );
    });
  });

  describe('request id', () => {
    it('is generated, a UUID, when the request has none, and echoed', async () => {
      const response = await testApp.http().get('/health/live').expect(200);

      expect(response.headers['x-request-id']).toMatch(UUID);
      expect(requestLineOf(response).reqId).toBe(
        response.headers['x-request-id'],
      );
    });

    it("is the caller's X-Request-Id when it is a safe value", async () => {
      const response = await testApp
        .http()
        .get('/health/live')
        .set('X-Request-Id', 'gateway-7f3a.1:42_Z')
        .expect(200);

      expect(response.headers['x-request-id']).toBe('gateway-7f3a.1:42_Z');
      expect(requestLineOf(response).reqId).toBe('gateway-7f3a.1:42_Z');
    });

    // CR and LF never get this far: Node's HTTP parser answers 400 itself
    // (request-id.spec.ts shows they would be refused too).
    it.each([
      ['too long', 'a'.repeat(129)],
      ['with a space', 'abc def'],
      ['with a quote', 'abc"def'],
      ['with a log-forging brace', '{"level":60}'],
      ['non-ASCII', 'réq-1'],
    ])(
      'replaces an unsafe X-Request-Id (%s) with a UUID',
      async (_, unsafe) => {
        const response = await testApp
          .http()
          .get('/health/live')
          .set('X-Request-Id', unsafe)
          .expect(200);

        expect(response.headers['x-request-id']).toMatch(UUID);
        expect(written.join('')).not.toContain(unsafe);
      },
    );

    it.each([
      [
        'a 404',
        (id: string) =>
          testApp.http().get('/no/such/route').set('X-Request-Id', id),
        404,
      ],
      [
        'a 400 from validation',
        (id: string) =>
          testApp.http().post('/users').set('X-Request-Id', id).send({}),
        400,
      ],
      [
        "Fastify's 413, before Nest",
        (id: string) =>
          testApp
            .http()
            .post('/users')
            .set('X-Request-Id', id)
            .send({ username: 'big', password: 'x'.repeat(70_000) }),
        413,
      ],
      [
        "Fastify's 415, before Nest",
        (id: string) =>
          testApp
            .http()
            .post('/users')
            .set('X-Request-Id', id)
            .set('Content-Type', 'text/plain')
            .send('hello'),
        415,
      ],
    ])(
      'is echoed on %s and names its request line',
      async (_, send, status) => {
        const id = `echo-${status}`;
        const response = await send(id);

        expect(response.status).toBe(status);
        expect(response.headers['x-request-id']).toBe(id);
        expect(requestLineOf(response).res).toEqual({ statusCode: status });
      },
    );

    it("is on every line logged during the request, the app's own lines included", async () => {
      await registerUser(testApp, 'reuser');
      const { login, refresh } = tokenClient(() => testApp);
      const first = await login('reuser');
      await refresh(first.refresh_token).expect(200);

      written.length = 0;

      // Presenting a spent refresh token ends the session and logs a warning.
      const reuse = await refresh(first.refresh_token)
        .set('X-Request-Id', 'reuse-1')
        .expect(400);

      expect(reuse.headers['x-request-id']).toBe('reuse-1');
      expect(logLines()).toEqual([
        expect.objectContaining({
          reqId: 'reuse-1',
          level: 40,
          context: 'SessionsService',
          msg: expect.stringContaining('Refresh token reuse detected'),
        }),
        expect.objectContaining({
          reqId: 'reuse-1',
          msg: 'POST /auth/token 400',
        }),
      ]);
    });
  });

  describe('secrets', () => {
    it('none of a full flow reaches the log: passwords, tokens, client secrets, Basic credentials', async () => {
      const password = 'first-sentinel-passphrase-9Kq';
      const newPassword = 'second-sentinel-passphrase-4Zw';
      const wrongPassword = 'wrong-sentinel-passphrase-7Hd';
      const urlPassword = 'url-sentinel-passphrase-2Xe';
      const tooLargePassword = `large-sentinel-${'y'.repeat(70_000)}`;
      const adminToken = await passwordGrant(
        testApp,
        ADMIN.username,
        ADMIN.password,
      );
      const client = await createClientAs(testApp, adminToken, {
        name: 'logged-app',
        allowedScopes: ['profile'],
        allowedGrantTypes: ['password', 'refresh_token'],
      });
      const basic = Buffer.from(`${client.id}:${client.clientSecret}`).toString(
        'base64',
      );
      await registerUser(testApp, 'secretive', password);
      const token = (form: Record<string, string>) =>
        testApp
          .http()
          .post('/auth/token')
          .set('Authorization', `Basic ${basic}`)
          .type('form')
          .send(form);

      const granted = await token({
        grant_type: 'password',
        username: 'secretive',
        password,
      }).expect(200);
      const first = granted.body as {
        access_token: string;
        refresh_token: string;
      };
      const refreshed = await token({
        grant_type: 'refresh_token',
        refresh_token: first.refresh_token,
      }).expect(200);
      const second = refreshed.body as {
        access_token: string;
        refresh_token: string;
      };
      await testApp
        .http()
        .post('/auth/introspect')
        .auth(client.id, client.clientSecret)
        .type('form')
        .send({ token: second.access_token })
        .expect(200);
      await testApp
        .http()
        .post('/auth/revoke')
        .auth(client.id, client.clientSecret)
        .type('form')
        .send({ token: second.refresh_token })
        .expect(200);
      const third = await passwordGrant(testApp, 'secretive', password);
      await testApp
        .http()
        .put('/users/me/password')
        .set('Authorization', `Bearer ${third}`)
        .send({ currentPassword: password, newPassword })
        .expect(204);
      await token({
        grant_type: 'password',
        username: 'secretive',
        password: wrongPassword,
      }).expect(400);
      await testApp
        .http()
        .post(
          `/auth/token?grant_type=password&username=secretive&password=${urlPassword}`,
        )
        .type('form')
        .send({ grant_type: 'password' })
        .expect(400);
      await testApp
        .http()
        .get(`/no/such/route?access_token=${third}`)
        .expect(404);
      await testApp
        .http()
        .post('/users')
        .send({ username: 'no spaces allowed', password })
        .expect(400);
      await testApp
        .http()
        .post('/users')
        .send({ username: 'large', password: tooLargePassword })
        .expect(413);

      const log = written.join('');
      expect(log).toContain('POST /auth/introspect 200');
      const secrets = {
        password,
        newPassword,
        wrongPassword,
        urlPassword,
        tooLargePassword: tooLargePassword.slice(0, 30),
        adminPassword: ADMIN.password,
        adminToken,
        clientSecret: client.clientSecret,
        basic,
        firstAccess: first.access_token,
        firstRefresh: first.refresh_token,
        secondAccess: second.access_token,
        secondRefresh: second.refresh_token,
        third,
      };
      for (const [name, secret] of Object.entries(secrets)) {
        expect({ name, found: log.includes(secret) }).toEqual({
          name,
          found: false,
        });
      }
      // The request line shows the harmless values and names the hidden ones.
      expect(log).toContain(
        '/auth/token?grant_type=[Redacted]&username=secretive&password=[Redacted]',
      );
    });

    it("are censored in whatever the app's code logs, up to three levels deep", () => {
      PinoLogger.root.warn(
        {
          password: 'p0',
          body: {
            newPassword: 'p1',
            client_secret: 'p2',
            currentPassword: 'p3',
          },
          req: { headers: { authorization: 'Basic p4', cookie: 'sid=p5' } },
          res: { headers: { 'set-cookie': 'sid=p6' } },
          form: { refresh_token: 'p7', access_token: 'p8', token: 'p9' },
          client: { clientSecret: 'p10' },
        },
        'an object with secrets',
      );

      const line = written.join('');
      expect(line).toContain('an object with secrets');
      expect(line).not.toMatch(/p\d/);
    });

    it('leaves request and response headers and bodies out of the request line', async () => {
      const response = await testApp
        .http()
        .post('/users')
        .set('User-Agent', 'header-sentinel')
        .send({ username: 'body-sentinel', password: 'x' })
        .expect(400);

      expect(requestLineOf(response).req).toEqual({
        method: 'POST',
        url: '/users',
      });
      expect(written.join('')).not.toMatch(/header-sentinel|body-sentinel/);
    });
  });
});
