import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import bcrypt from 'bcrypt';
import { DataSource } from 'typeorm';
import { hashSecret } from '../src/common/secrets.js';
import { AppDataSource } from '../src/database/app-data-source.js';
import { databaseOptions } from '../src/database/database.options.js';
import { migrations } from '../src/database/migrations/index.js';
import { entities } from '../src/entities.js';
import { DeviceAuthorization } from '../src/oauth/device/device-authorization.entity.js';
import { RefreshToken } from '../src/sessions/refresh-token.entity.js';
import { Session } from '../src/sessions/session.entity.js';
import { User } from '../src/users/user.entity.js';
import {
  ADMIN,
  ADMIN_ENV,
  createClientAs,
  GOOD_PASSWORD,
  passwordGrant,
  registerUser,
  tokenClient,
} from './utils/flows.js';
import type { CreatedClient, TokenBody } from './utils/flows.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp, createTestDatabase } from './utils/test-app.js';

const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';
const CATALOGUE = 'https://catalogue.example.test';
const SLOW = 30_000;

/** Twelve scopes of 60 characters: together, longer than 512. */
const LONG_SCOPES = Array.from({ length: 12 }, (_, at) =>
  `catalogue:${String(at).padStart(2, '0')}:`.padEnd(60, 'x'),
);

describe('scopes longer than 512 characters in all (stored as text)', () => {
  let testApp: TestApp;
  let cli: CreatedClient;

  beforeAll(async () => {
    testApp = await createTestApp(ADMIN_ENV);
    const adminToken = await passwordGrant(
      testApp,
      ADMIN.username,
      ADMIN.password,
    );
    await registerUser(testApp, 'alice');
    await testApp
      .http()
      .post('/resource-servers')
      .set('Authorization', `Bearer ${adminToken}`)
      .send({
        identifier: CATALOGUE,
        name: 'Catalogue API',
        scopes: LONG_SCOPES.map((name) => ({
          name,
          description: 'x',
          roles: ['user'],
        })),
      })
      .expect(201);
    cli = await createClientAs(testApp, adminToken, {
      name: 'catalogue-cli',
      allowedScopes: ['profile', 'users:read'],
      allowedGrantTypes: [DEVICE_CODE, 'refresh_token'],
    });
  });
  afterAll(() => testApp.close());

  it('a password grant for an API with all its scopes answers 200, and refreshes', async () => {
    const response = await testApp
      .http()
      .post('/auth/token')
      .type('form')
      .send({
        grant_type: 'password',
        username: 'alice',
        password: GOOD_PASSWORD,
        resource: CATALOGUE,
      });
    expect(response.status).toBe(200);
    const body = response.body as TokenBody;
    expect(body.scope).toBe(LONG_SCOPES.join(' '));
    expect(body.scope.length).toBeGreaterThan(512);
    const next = await tokenClient(() => testApp)
      .refresh(body.refresh_token)
      .expect(200);
    expect(next.body.scope).toBe(LONG_SCOPES.join(' '));
  });

  it('a device authorization with a 700-character scope of duplicates answers 200, and keeps each scope once', async () => {
    // 78 × profile and 7 × users:read, single spaces: 700 characters.
    const scope = [
      ...Array.from({ length: 78 }, () => 'profile'),
      ...Array.from({ length: 7 }, () => 'users:read'),
    ].join(' ');
    expect(scope.length).toBe(700);
    const response = await testApp
      .http()
      .post('/auth/device_authorization')
      .auth(cli.id, cli.clientSecret)
      .type('form')
      .send({ scope });
    expect(response.status).toBe(200);
    const stored = await testApp.app
      .get(DataSource)
      .getRepository(DeviceAuthorization)
      .find({ select: { requestedScope: true } });
    expect(stored).toEqual([{ requestedScope: 'profile users:read' }]);
  });
});

describe('a database whose sessions.scope was varchar(512)', () => {
  it(
    'upgrades keeping its sessions: a refresh token from before still works',
    async () => {
      const { databaseUrl, drop } = await createTestDatabase();
      let testApp: TestApp | undefined;
      try {
        const before = new AppDataSource({
          ...databaseOptions({ DATABASE_URL: databaseUrl }, entities),
          migrations: migrations.slice(0, -1),
        });
        await before.initialize();
        await before.runMigrations();
        const user = await before.getRepository(User).save({
          username: 'alice',
          passwordHash: await bcrypt.hash(GOOD_PASSWORD, 4),
          isActive: true,
          roles: ['user'],
          tokensValidAfter: null,
        });
        const now = Date.now();
        const session = await before.getRepository(Session).save({
          userId: user.id,
          clientId: 'public',
          resource: null,
          grantType: null,
          scope: 'profile',
          userAgent: null,
          ipAddress: null,
          lastUsedAt: new Date(now),
          expiresAt: new Date(now + 3600_000),
          endedAt: null,
          endReason: null,
          dpopJkt: 'thumbprint-from-before',
        });
        await before.getRepository(RefreshToken).insert({
          tokenHash: hashSecret('refresh-token-from-before'),
          sessionId: session.id,
          expiresAt: session.expiresAt,
          spentAt: null,
        });
        await before.destroy();

        testApp = await createTestApp({ DATABASE_URL: databaseUrl });

        expect(
          await testApp.app.get(DataSource).getRepository(Session).findOneBy({
            id: session.id,
          }),
        ).toMatchObject({
          scope: 'profile',
          dpopJkt: 'thumbprint-from-before',
        });
        const refreshToken = await testApp.app
          .get(DataSource)
          .getRepository(RefreshToken)
          .findOneBy({ sessionId: session.id });
        expect(refreshToken?.spentAt).toBeNull();
        expect(
          await testApp.app.get(DataSource).getRepository(Session).findOneBy({
            id: session.id,
          }),
        ).toMatchObject({ userId: user.id, scope: 'profile', endedAt: null });
      } finally {
        await testApp?.close();
        await drop();
      }
    },
    SLOW,
  );
});
