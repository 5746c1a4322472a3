import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  jwtVerify,
  SignJWT,
} from 'jose';
import type { JSONWebKeySet, JWTPayload } from 'jose';
import type { KeyObject } from 'node:crypto';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { User } from '../src/users/user.entity.js';
import {
  INVALID_TOKEN_CHALLENGE,
  MISSING_TOKEN_CHALLENGE,
} from './utils/expectations.js';
import { passwordGrant, registerUser } from './utils/flows.js';
import { now, readServiceKey } from './utils/tokens.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp, TEST_PUBLIC_URL } from './utils/test-app.js';

const base64url = (value: unknown) =>
  Buffer.from(JSON.stringify(value)).toString('base64url');

describe('GET /users/me', () => {
  let testApp: TestApp;
  let alice: { id: string; username: string };
  let bob: { id: string };
  let aliceToken: string;
  /** The session (refresh family) of alice's login: user tokens carry it as `sid`. */
  let aliceSessionId: string;
  /** The service's own signing key, read from the database. */
  let serviceKey: { kid: string; privateKey: KeyObject; publicKeyPem: string };
  /** A key the service never saw, for every forgery below: one is as unrelated as another. */
  const unrelatedKey = generateKeyPairSync('rsa', { modulusLength: 2048 });

  beforeAll(async () => {
    testApp = await createTestApp();
    alice = await registerUser(testApp, 'alice');
    bob = await registerUser(testApp, 'bob');
    aliceToken = await passwordGrant(testApp, 'alice');
    aliceSessionId = decodeJwt(aliceToken).sid as string;
    serviceKey = await readServiceKey(testApp);
  });
  afterAll(() => testApp.close());

  const me = (authorization?: string) => {
    const request = testApp.http().get('/users/me');
    return authorization === undefined
      ? request
      : request.set('Authorization', authorization);
  };
  const users = () => testApp.app.get(DataSource).getRepository(User);

  /** The claims the service puts in an access token for alice (RFC 9068 §2.2). */
  const aliceClaims = (): JWTPayload => ({
    iss: TEST_PUBLIC_URL,
    aud: TEST_PUBLIC_URL,
    sub: alice.id,
    iat: now(),
    exp: now() + 900,
    jti: randomUUID(),
    client_id: 'public',
    scope: 'profile',
    sid: aliceSessionId,
  });

  /** A token signed with the service's real key: only what the test changes is wrong. */
  const signWithServiceKey = (
    claims: JWTPayload = {},
    header: Record<string, unknown> = {},
    algorithm = 'RS256',
  ) =>
    new SignJWT({ ...aliceClaims(), ...claims })
      .setProtectedHeader({
        alg: algorithm,
        typ: 'at+jwt',
        kid: serviceKey.kid,
        ...header,
      })
      .sign(serviceKey.privateKey);

  /** The same header and signature around a different payload. */
  const tamperPayload = (token: string, changes: JWTPayload) => {
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(
      Buffer.from(payload, 'base64url').toString('utf8'),
    ) as JWTPayload;
    return [header, base64url({ ...claims, ...changes }), signature].join('.');
  };

  /** RFC 9457 problem details for this route. */
  const expectProblem = (response: Response, status: number) => {
    expect(response.status).toBe(status);
    expect(response.headers['content-type']).toMatch(
      /^application\/problem\+json/,
    );
    expect(response.body).toEqual({
      type: 'about:blank',
      title: status === 401 ? 'Unauthorized' : 'Forbidden',
      status,
      detail: expect.any(String),
      instance: '/users/me',
    });
  };

  /** RFC 6750 §3.1: 401 with error="invalid_token", the description also in the body. */
  const expectInvalidToken = (response: Response) => {
    expectProblem(response, 401);
    const challenge = response.headers['www-authenticate'];
    expect(challenge).toMatch(INVALID_TOKEN_CHALLENGE);
    expect(INVALID_TOKEN_CHALLENGE.exec(challenge)?.[1]).toBe(
      response.body.detail,
    );
  };

  /** A failed request changes nothing: alice's real token still works. */
  const expectAliceTokenStillWorks = async () => {
    const response = await me(`Bearer ${aliceToken}`);
    expect(response.status).toBe(200);
    expect(response.body.id).toBe(alice.id);
  };

  describe('with a valid access token', () => {
    it('answers 200 with the user resource and no secret', async () => {
      const response = await me(`Bearer ${aliceToken}`).expect(200);

      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.body).toEqual({
        id: alice.id,
        username: 'alice',
        isActive: true,
        roles: ['user'],
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      expect(Object.keys(response.body).sort()).toEqual([
        'createdAt',
        'id',
        'isActive',
        'roles',
        'updatedAt',
        'username',
      ]);
      expect(response.body).not.toHaveProperty('passwordHash');
      expect(response.body).not.toHaveProperty('tokensValidAfter');
      expect(new Date(response.body.createdAt).toISOString()).toBe(
        response.body.createdAt,
      );
      expect(new Date(response.body.updatedAt).toISOString()).toBe(
        response.body.updatedAt,
      );
    });

    it('RFC 7235 §2.1: accepts the auth scheme in any case', async () => {
      const response = await me(`bearer ${aliceToken}`).expect(200);
      expect(response.body.id).toBe(alice.id);
    });

    it('accepts a token made with the service key and the right claims (the control for every forgery below)', async () => {
      const response = await me(`Bearer ${await signWithServiceKey()}`).expect(
        200,
      );
      expect(response.body.id).toBe(alice.id);
    });

    it('RFC 9068 §4: verifies with nothing but the published JWKS (issuer, audience, typ at+jwt, RS256)', async () => {
      const jwksResponse = await testApp
        .http()
        .get('/.well-known/jwks.json')
        .expect(200);
      const jwks = createLocalJWKSet(jwksResponse.body as JSONWebKeySet);

      const { payload, protectedHeader } = await jwtVerify(aliceToken, jwks, {
        issuer: TEST_PUBLIC_URL,
        audience: TEST_PUBLIC_URL,
        typ: 'at+jwt',
        algorithms: ['RS256'],
      });

      expect(protectedHeader).toEqual({
        alg: 'RS256',
        typ: 'at+jwt',
        kid: serviceKey.kid,
      });
      expect(payload).toMatchObject({
        sub: alice.id,
        client_id: 'public',
        scope: 'profile',
      });
    });
  });

  describe('RFC 6750 §3.1: without a token, 401 and a challenge with no error code', () => {
    it('answers 401 when the Authorization header is missing', async () => {
      const response = await me();

      expectProblem(response, 401);
      expect(response.headers['www-authenticate']).toBe(
        MISSING_TOKEN_CHALLENGE,
      );
    });

    it('answers 401 when the Authorization header uses another scheme', async () => {
      const response = await me(
        `Basic ${Buffer.from('alice:secret').toString('base64')}`,
      );

      expectProblem(response, 401);
      expect(response.headers['www-authenticate']).toBe(
        MISSING_TOKEN_CHALLENGE,
      );
      await expectAliceTokenStillWorks();
    });
  });

  describe('RFC 6750 §3.1: 401 invalid_token for a token that must not be accepted', () => {
    // Each with the word its description must contain: proof that the token
    // was refused for the reason the case is about, not for a slip in forging it.
    const attacks: [string, RegExp, () => Promise<string>][] = [
      [
        'RFC 7518 §3.6: an unsecured token (alg none)',
        /RS256/,
        () =>
          Promise.resolve(
            `${base64url({ alg: 'none', typ: 'at+jwt', kid: serviceKey.kid })}.${base64url(aliceClaims())}.`,
          ),
      ],
      [
        'RFC 8725 §2.1: an HS256 token keyed with the service public key PEM (algorithm confusion)',
        /RS256/,
        () =>
          new SignJWT(aliceClaims())
            .setProtectedHeader({
              alg: 'HS256',
              typ: 'at+jwt',
              kid: serviceKey.kid,
            })
            .sign(new TextEncoder().encode(serviceKey.publicKeyPem)),
      ],
      [
        'RFC 8725 §3.1: a token signed by the service key with another algorithm (PS256)',
        /RS256/,
        () => signWithServiceKey({}, {}, 'PS256'),
      ],
      [
        'RFC 7515 §5.2: a token signed by an unrelated RSA key under the service kid',
        /signature/,
        () =>
          new SignJWT(aliceClaims())
            .setProtectedHeader({
              alg: 'RS256',
              typ: 'at+jwt',
              kid: serviceKey.kid,
            })
            .sign(unrelatedKey.privateKey),
      ],
      [
        'RFC 7515 §4.1.3: a token carrying its own verification key in a jwk header',
        /signature/,
        async () => {
          return new SignJWT(aliceClaims())
            .setProtectedHeader({
              alg: 'RS256',
              typ: 'at+jwt',
              kid: serviceKey.kid,
              jwk: await exportJWK(unrelatedKey.publicKey),
            })
            .sign(unrelatedKey.privateKey);
        },
      ],
      [
        'RFC 7515 §4.1.4: a token with a kid the service never published',
        /key/,
        () =>
          new SignJWT(aliceClaims())
            .setProtectedHeader({
              alg: 'RS256',
              typ: 'at+jwt',
              kid: 'a-key-of-somebody-else',
            })
            .sign(unrelatedKey.privateKey),
      ],
      [
        'RFC 7515 §5.2: a real token whose sub was changed, signature kept',
        /signature/,
        () => Promise.resolve(tamperPayload(aliceToken, { sub: bob.id })),
      ],
      [
        'RFC 7515 §5.2: a real token without scopes whose scope was changed to profile, signature kept',
        /signature/,
        async () =>
          tamperPayload(await signWithServiceKey({ scope: '' }), {
            scope: 'profile',
          }),
      ],
      [
        'RFC 7519 §4.1.4: an expired token signed with the service key',
        /expired/,
        () => signWithServiceKey({ iat: now() - 1000, exp: now() - 100 }),
      ],
      [
        'RFC 7519 §4.1.5: a token not valid yet (nbf in the future) signed with the service key',
        /not valid yet/,
        () => signWithServiceKey({ nbf: now() + 3600 }),
      ],
      [
        'RFC 9068 §4: a token for another audience signed with the service key',
        /audience/,
        () => signWithServiceKey({ aud: 'https://other-service.example' }),
      ],
      [
        'RFC 9068 §4: a token from another issuer signed with the service key',
        /issuer/,
        () => signWithServiceKey({ iss: 'https://other-issuer.example' }),
      ],
      [
        'RFC 9068 §4: a JWT of typ JWT (not at+jwt) signed with the service key',
        /at\+jwt/,
        () => signWithServiceKey({}, { typ: 'JWT' }),
      ],
      [
        'RFC 9068 §4: a JWT without typ signed with the service key',
        /at\+jwt/,
        () => signWithServiceKey({}, { typ: undefined }),
      ],
      [
        'RFC 6750 §2.1: a string that is not a JWT',
        /at\+jwt/,
        () => Promise.resolve('not-a-jwt'),
      ],
      [
        'RFC 7519 §7.2: a token whose payload does not decode',
        /malformed/,
        () =>
          Promise.resolve(
            `${base64url({ alg: 'RS256', typ: 'at+jwt', kid: serviceKey.kid })}.%%%.AAAA`,
          ),
      ],
    ];

    it.each(attacks)('%s', async (_case, reason, forge) => {
      const response = await me(`Bearer ${await forge()}`);

      expectInvalidToken(response);
      expect(response.body.detail).toMatch(reason);
      await expectAliceTokenStillWorks();
    });
  });

  describe('RFC 6750 §3.1: 401 invalid_token for a token whose user can no longer use it', () => {
    it('refuses the token of a user who was deactivated after it was issued', async () => {
      const carol = await registerUser(testApp, 'carol');
      const token = await passwordGrant(testApp, 'carol');
      await me(`Bearer ${token}`).expect(200);

      await users().update({ id: carol.id }, { isActive: false });

      expectInvalidToken(await me(`Bearer ${token}`));
      await expectAliceTokenStillWorks();
    });

    it('refuses the token of a user who was deleted after it was issued', async () => {
      const dave = await registerUser(testApp, 'dave');
      const token = await passwordGrant(testApp, 'dave');
      await me(`Bearer ${token}`).expect(200);

      await users().delete({ id: dave.id });

      expectInvalidToken(await me(`Bearer ${token}`));
      await expectAliceTokenStillWorks();
    });

    it('refuses a token issued before the user’s tokensValidAfter (every session ended)', async () => {
      const erin = await registerUser(testApp, 'erin');
      const token = await passwordGrant(testApp, 'erin');
      await me(`Bearer ${token}`).expect(200);

      // A cut in a later second than the token's iat (same-second tokens are refused by their ended session).
      const issuedAt = decodeJwt(token).iat!;
      await users().update(
        { id: erin.id },
        { tokensValidAfter: new Date((issuedAt + 1) * 1000) },
      );

      expectInvalidToken(await me(`Bearer ${token}`));
      await expectAliceTokenStillWorks();
    });

    it('accepts a token issued in a later second than tokensValidAfter', async () => {
      const frank = await registerUser(testApp, 'frank');
      // A cut a second ago: iat has whole-second precision, and the token
      // below comes in a later second than the cut without waiting for one.
      await users().update(
        { id: frank.id },
        { tokensValidAfter: new Date(Date.now() - 1_000) },
      );

      const token = await passwordGrant(testApp, 'frank');

      const response = await me(`Bearer ${token}`);
      expect(response.status).toBe(200);
      expect(response.body.id).toBe(frank.id);
    });
  });

  describe('RFC 6750 §3.1: 403 insufficient_scope for a token without the profile scope', () => {
    const expectInsufficientScope = (response: Response) => {
      expectProblem(response, 403);
      expect(response.headers['www-authenticate']).toBe(
        `${MISSING_TOKEN_CHALLENGE}, error="insufficient_scope", scope="profile"`,
      );
    };

    it('answers 403 for a token whose scope is empty', async () => {
      const token = await signWithServiceKey({ scope: '' });
      expect(decodeProtectedHeader(token).kid).toBe(serviceKey.kid);

      expectInsufficientScope(await me(`Bearer ${token}`));
      await expectAliceTokenStillWorks();
    });

    it('answers 403 for a token with other scopes only', async () => {
      const token = await signWithServiceKey({ scope: 'openid email' });

      expectInsufficientScope(await me(`Bearer ${token}`));
      await expectAliceTokenStillWorks();
    });

    it('RFC 9068 §2.2.3: answers 403 for a token without a scope claim', async () => {
      const token = await signWithServiceKey({ scope: undefined });

      expectInsufficientScope(await me(`Bearer ${token}`));
      await expectAliceTokenStillWorks();
    });
  });
});
