import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import bcrypt from 'bcrypt';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { DataSource } from 'typeorm';
import { PasswordHasher } from '../src/users/credentials/password-hasher.service.js';
import { User } from '../src/users/user.entity.js';
import { expectOAuthError } from './utils/expectations.js';
import {
  GOOD_PASSWORD,
  passwordGrant,
  registerUser,
  tokenClient,
} from './utils/flows.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp, TEST_PUBLIC_URL } from './utils/test-app.js';

describe('POST /auth/token', () => {
  let testApp: TestApp;
  let alice: { id: string };
  beforeAll(async () => {
    testApp = await createTestApp();
    alice = await registerUser(testApp, 'alice');
  });
  afterAll(() => testApp.close());

  const { tokenRequest } = tokenClient(() => testApp);
  const passwordForm = (extra: Record<string, string> = {}) => ({
    grant_type: 'password',
    username: 'alice',
    password: GOOD_PASSWORD,
    ...extra,
  });

  describe('grant_type=password (RFC 6749 §4.3)', () => {
    it('§5.1: answers 200 with a Bearer token, its lifetime and scope, never cached', async () => {
      const response = await tokenRequest(passwordForm()).expect(200);

      expect(response.body).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 900,
        refresh_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        scope: 'profile',
      });
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.headers.pragma).toBe('no-cache');
    });

    it('RFC 9068: issues a JWT access token with typ at+jwt, kid and the profile claims', async () => {
      const { body } = await tokenRequest(passwordForm()).expect(200);
      const header = decodeProtectedHeader(body.access_token);
      const claims = decodeJwt(body.access_token);

      expect(header).toEqual({
        alg: 'RS256',
        typ: 'at+jwt',
        kid: expect.any(String),
      });
      expect(claims).toEqual({
        iss: TEST_PUBLIC_URL,
        sub: alice.id,
        aud: TEST_PUBLIC_URL,
        iat: expect.any(Number),
        exp: (claims.iat ?? 0) + 900,
        jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
        client_id: 'public',
        scope: 'profile',
        sid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
    });

    it('gives every token its own jti', async () => {
      const first = decodeJwt(
        (await tokenRequest(passwordForm()).expect(200)).body.access_token,
      );
      const second = decodeJwt(
        (await tokenRequest(passwordForm()).expect(200)).body.access_token,
      );
      expect(first.jti).not.toBe(second.jti);
    });

    it('accepts the username in any case and Unicode form', async () => {
      await tokenRequest(passwordForm({ username: 'ＡＬＩＣＥ' })).expect(200);
    });

    it("treats Swagger UI's empty client credentials (Basic Og==) as the public client", async () => {
      const response = await testApp
        .http()
        .post('/auth/token')
        .set('Authorization', 'Basic Og==')
        .type('form')
        .send(passwordForm())
        .expect(200);
      expect(decodeJwt(response.body.access_token).client_id).toBe('public');
    });

    it('ignores unknown parameters (§3.2)', async () => {
      await tokenRequest(passwordForm({ favourite_colour: 'blue' })).expect(
        200,
      );
    });

    it('grants a requested scope the user may have', async () => {
      const response = await tokenRequest(
        passwordForm({ scope: 'profile' }),
      ).expect(200);
      expect(response.body.scope).toBe('profile');
    });

    it('RFC 6749 §2.3.1: a public client may name itself with client_id alone', async () => {
      const response = await tokenRequest(
        passwordForm({ client_id: 'my-spa' }),
      ).expect(200);
      expect(decodeJwt(response.body.access_token).client_id).toBe('public');
    });
  });

  describe('§5.2 errors', () => {
    it('invalid_request for a username in the URL (passport-local would read it)', async () => {
      const response = await testApp
        .http()
        .post('/auth/token?username=alice')
        .type('form')
        .send({ grant_type: 'password', password: GOOD_PASSWORD })
        .expect(400);
      expect(response.body.error).toBe('invalid_request');
    });

    it('invalid_grant for a wrong password', async () => {
      expectOAuthError(
        await tokenRequest(
          passwordForm({ password: 'wrong password, long enough' }),
        ),
        400,
        'invalid_grant',
      );
    });

    it('invalid_grant for an unknown user, with the same description as a wrong password', async () => {
      const unknown = await tokenRequest(passwordForm({ username: 'nobody' }));
      const wrong = await tokenRequest(
        passwordForm({ password: 'wrong password, long enough' }),
      );
      expectOAuthError(unknown, 400, 'invalid_grant');
      expect(unknown.body).toEqual(wrong.body);
    });

    it('invalid_grant for an inactive user, with the same description', async () => {
      await registerUser(testApp, 'olivia');
      await testApp.app
        .get(DataSource)
        .getRepository(User)
        .update({ username: 'olivia' }, { isActive: false });
      const response = await tokenRequest(passwordForm({ username: 'olivia' }));
      expectOAuthError(response, 400, 'invalid_grant');
      expect(response.body.error_description).toBe(
        'The username or password is wrong, or the account is inactive.',
      );
    });

    it('invalid_grant for a password over 72 bytes whose first 72 bytes are right', async () => {
      const longPassword = `${'a-long-enough-passphrase '.repeat(3)}`.slice(
        0,
        72,
      );
      await testApp
        .http()
        .post('/users')
        .send({ username: 'peggy', password: longPassword })
        .expect(201);
      await tokenRequest(
        passwordForm({ username: 'peggy', password: longPassword }),
      ).expect(200);
      expectOAuthError(
        await tokenRequest(
          passwordForm({ username: 'peggy', password: `${longPassword}xyz` }),
        ),
        400,
        'invalid_grant',
      );
    });

    it('invalid_request without grant_type', async () => {
      expectOAuthError(
        await tokenRequest({ username: 'alice', password: GOOD_PASSWORD }),
        400,
        'invalid_request',
      );
    });

    it('unsupported_grant_type for an unknown grant_type', async () => {
      expectOAuthError(
        await tokenRequest({ grant_type: 'magic' }),
        400,
        'unsupported_grant_type',
      );
    });

    it.each([
      ['username', { grant_type: 'password', password: GOOD_PASSWORD }],
      ['password', { grant_type: 'password', username: 'alice' }],
      [
        'an empty password (§3.1: empty is omitted)',
        { grant_type: 'password', username: 'alice', password: '' },
      ],
    ])('invalid_request without %s', async (_case, form) => {
      expectOAuthError(await tokenRequest(form), 400, 'invalid_request');
    });

    it('invalid_request when a parameter is repeated (§3.1)', async () => {
      const response = await testApp
        .http()
        .post('/auth/token')
        .type('form')
        .send('grant_type=password&username=alice&username=bob&password=x');
      expectOAuthError(response, 400, 'invalid_request');
      expect(response.body.error_description).toMatch(
        /username must not be repeated/,
      );
    });

    it('invalid_request for a JSON body (§3.2: form-encoded only)', async () => {
      const response = await testApp
        .http()
        .post('/auth/token')
        .send(passwordForm());
      expectOAuthError(response, 400, 'invalid_request');
    });

    it('invalid_request for a password in the URL', async () => {
      const response = await testApp
        .http()
        .post(`/auth/token?password=${encodeURIComponent(GOOD_PASSWORD)}`)
        .type('form')
        .send({ grant_type: 'password', username: 'alice' });
      expectOAuthError(response, 400, 'invalid_request');
    });

    it.each([
      ['an unknown scope', 'profile admin:everything'],
      ['a malformed scope', 'pro"file'],
    ])('invalid_scope for %s', async (_case, scope) => {
      expectOAuthError(
        await tokenRequest(passwordForm({ scope })),
        400,
        'invalid_scope',
      );
    });

    it('401 invalid_client with a Basic challenge for unknown client credentials', async () => {
      const response = await testApp
        .http()
        .post('/auth/token')
        .auth('some-client', 'some-secret')
        .type('form')
        .send(passwordForm());
      expectOAuthError(response, 401, 'invalid_client');
      expect(response.headers['www-authenticate']).toMatch(
        /^Basic realm="http:\/\/auth\.test"/,
      );
    });

    it('401 invalid_client for unknown client_id and client_secret in the body', async () => {
      expectOAuthError(
        await tokenRequest(
          passwordForm({ client_id: 'x', client_secret: 'y' }),
        ),
        401,
        'invalid_client',
      );
    });

    it('leaves the stored hash alone after a failed login', async () => {
      const users = testApp.app.get(DataSource).getRepository(User);
      const before = (await users.findOneByOrFail({ username: 'alice' }))
        .passwordHash;
      await tokenRequest(
        passwordForm({ password: 'wrong password, long enough' }),
      ).expect(400);
      expect(
        (await users.findOneByOrFail({ username: 'alice' })).passwordHash,
      ).toBe(before);
    });

    it('413 invalid_request for an oversized body', async () => {
      const response = await tokenRequest(
        passwordForm({ password: 'x'.repeat(100_000) }),
      );
      expectOAuthError(response, 413, 'invalid_request');
    });
  });
});

describe('POST /auth/token password hashing', () => {
  /** Where the accounts were registered, at cost 4. */
  let weakApp: TestApp;
  /** The same database after a restart at cost 5: it serves the logins below. */
  let strongerApp: TestApp;
  /** An access token of rita's, issued by the weak app. */
  let ritaToken: string;
  beforeAll(async () => {
    weakApp = await createTestApp({ BCRYPT_COST: '4' });
    await registerUser(weakApp, 'quentin');
    await registerUser(weakApp, 'rita');
    ritaToken = await passwordGrant(weakApp, 'rita');
    // Opened last: Passport strategies are process-wide, so this app now serves logins.
    strongerApp = await createTestApp({
      DATABASE_URL: weakApp.databaseUrl,
      BCRYPT_COST: '5',
    });
  });
  afterAll(async () => {
    await strongerApp.close();
    await weakApp.close();
  });

  it('upgrades a hash made at a lower cost on the next successful login', async () => {
    await strongerApp
      .http()
      .post('/auth/token')
      .type('form')
      .send({
        grant_type: 'password',
        username: 'quentin',
        password: GOOD_PASSWORD,
      })
      .expect(200);
    const users = strongerApp.app.get(DataSource).getRepository(User);
    const { passwordHash } = await users.findOneByOrFail({
      username: 'quentin',
    });
    expect(bcrypt.getRounds(passwordHash)).toBe(5);
    expect(await bcrypt.compare(GOOD_PASSWORD, passwordHash)).toBe(true);
  });

  it('keeps a password change that lands while a login rehashes the old password', async () => {
    const newPassword = 'a different passphrase entirely';
    try {
      // The login's rehash (its first hash) waits until the password has changed.
      const hasher = strongerApp.app.get(PasswordHasher);
      const hash = hasher.hash.bind(hasher);
      let rehashStarted!: () => void;
      const rehashing = new Promise<void>((resolve) => {
        rehashStarted = resolve;
      });
      let changeDone!: () => void;
      const changed = new Promise<void>((resolve) => {
        changeDone = resolve;
      });
      jest.spyOn(hasher, 'hash').mockImplementationOnce(async (password) => {
        rehashStarted();
        await changed;
        return hash(password);
      });
      const login = strongerApp
        .http()
        .post('/auth/token')
        .type('form')
        .send({
          grant_type: 'password',
          username: 'rita',
          password: GOOD_PASSWORD,
        })
        .then((response) => response);
      await rehashing;
      await strongerApp
        .http()
        .put('/users/me/password')
        .set('Authorization', `Bearer ${ritaToken}`)
        .send({ currentPassword: GOOD_PASSWORD, newPassword })
        .expect(204);
      changeDone();

      expectOAuthError(await login, 400, 'invalid_grant');
      const users = strongerApp.app.get(DataSource).getRepository(User);
      const { passwordHash } = await users.findOneByOrFail({
        username: 'rita',
      });
      expect(await bcrypt.compare(newPassword, passwordHash)).toBe(true);
      await passwordGrant(strongerApp, 'rita', newPassword);
    } finally {
      jest.restoreAllMocks();
    }
  });
});

describe('POST /auth/token timing', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    // A cost where one comparison clearly outweighs the rest of a request.
    testApp = await createTestApp({ BCRYPT_COST: '10' });
    await registerUser(testApp, 'alice');
  });
  afterAll(() => testApp.close());

  const medianMs = async (username: string) => {
    const times: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const started = performance.now();
      await testApp
        .http()
        .post('/auth/token')
        .type('form')
        .send({
          grant_type: 'password',
          username,
          password: 'wrong password, long enough',
        })
        .expect(400);
      times.push(performance.now() - started);
    }
    return times.sort((a, b) => a - b)[2];
  };

  it('spends a bcrypt comparison on an unknown username too, so timing does not reveal which exist', async () => {
    const known = await medianMs('alice');
    const unknown = await medianMs('nobody-by-this-name');
    // Without the dummy comparison an unknown user answers in ~1 ms against ~50 ms.
    expect(unknown).toBeGreaterThan(known * 0.5);
  });
});
