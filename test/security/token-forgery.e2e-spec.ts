import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { calculateJwkThumbprint, decodeJwt, exportJWK, SignJWT } from 'jose';
import type { JWK, JWTPayload } from 'jose';
import type { KeyObject } from 'node:crypto';
import {
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  sign,
} from 'node:crypto';
import { DataSource } from 'typeorm';
import { SigningKeysService } from '../../src/oauth/keys/signing-keys.service.js';
import { SigningKey } from '../../src/oauth/keys/signing-key.entity.js';
import {
  expectInvalidGrant,
  expectInvalidToken,
} from '../utils/expectations.js';
import {
  ADMIN,
  ADMIN_ENV,
  createClientAs,
  passwordGrant,
  registerUser,
  tokenClient,
} from '../utils/flows.js';
import type { CreatedClient, TokenBody } from '../utils/flows.js';
import { databaseSnapshot } from '../utils/security.js';
import type { TestApp } from '../utils/test-app.js';
import { createTestApp, TEST_PUBLIC_URL } from '../utils/test-app.js';
import { jwksOf, now, privateKeyOf } from '../utils/tokens.js';

const base64url = (value: unknown) =>
  Buffer.from(JSON.stringify(value)).toString('base64url');

/** A JWS in compact form, signed (or not) by hand: jose refuses to make most of these. */
function compact(
  header: Record<string, unknown>,
  claims: JWTPayload,
  sign: (input: string) => string = () => '',
): string {
  const input = `${base64url(header)}.${base64url(claims)}`;
  return `${input}.${sign(input)}`;
}

const hmac = (secret: string | Buffer) => (input: string) =>
  createHmac('sha256', secret).update(input).digest('base64url');

/** The attacker's own RSA key pair, and its public JWK. */
function attackerKey() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
  });
  return { privateKey, publicKey };
}

/**
 * Forged and misused tokens against the bearer guard (GET /users/me), the
 * revocation endpoint (RFC 7009) and introspection (RFC 7662). Each is
 * refused with the exact RFC 6750 challenge and changes nothing stored.
 */
describe('token forgery', () => {
  let testApp: TestApp;
  let alice: { id: string };
  let admin: { id: string };
  let aliceTokens: TokenBody;
  let introspector: CreatedClient;
  /** The two live signing keys after a rotation: the first one and the one that signs now. */
  let oldKey: { kid: string; privateKey: KeyObject };
  let currentKey: { kid: string; privateKey: KeyObject };
  let attacker: ReturnType<typeof attackerKey>;
  let attackerJwk: JWK;
  const client = tokenClient(() => testApp);

  beforeAll(async () => {
    testApp = await createTestApp(ADMIN_ENV);
    alice = await registerUser(testApp, 'alice');
    const adminToken = await passwordGrant(
      testApp,
      ADMIN.username,
      ADMIN.password,
    );
    admin = { id: decodeJwt(adminToken).sub! };
    introspector = await createClientAs(testApp, adminToken, {
      name: 'resource-server',
      allowedScopes: [],
      allowedGrantTypes: ['client_credentials'],
    });
    await testApp.app.get(SigningKeysService).rotate();
    const rows = await testApp.app
      .get(DataSource)
      .getRepository(SigningKey)
      .find({ order: { generation: 'ASC' } });
    [oldKey, currentKey] = rows.map((row) => ({
      kid: row.kid,
      privateKey: privateKeyOf(row),
    }));
    aliceTokens = await client.login('alice');
    attacker = attackerKey();
    attackerJwk = {
      ...(await exportJWK(attacker.publicKey)),
      alg: 'RS256',
      use: 'sig',
    };
    attackerJwk.kid = await calculateJwkThumbprint(attackerJwk);
  }, 30_000);
  afterAll(() => testApp.close());

  /** What the service itself puts in alice's access token (RFC 9068 §2.2). */
  const aliceClaims = (): JWTPayload => ({
    ...decodeJwt(aliceTokens.access_token),
    iat: now(),
    exp: now() + 900,
    jti: randomUUID(),
  });

  const signed = (
    key: { kid: string; privateKey: KeyObject },
    claims: JWTPayload = {},
    header: Record<string, unknown> = {},
  ) =>
    new SignJWT({ ...aliceClaims(), ...claims })
      .setProtectedHeader({
        alg: 'RS256',
        typ: 'at+jwt',
        kid: key.kid,
        ...header,
      })
      .sign(key.privateKey);

  /** Signed with the key that signs now: only what the test changes is wrong. */
  const signedByService = (
    claims: JWTPayload = {},
    header: Record<string, unknown> = {},
  ) => signed(currentKey, claims, header);

  const signedByAttacker = (header: Record<string, unknown>) =>
    signed(
      { kid: attackerJwk.kid!, privateKey: attacker.privateKey },
      // An admin's identity and every scope: what a forger would ask for.
      { sub: admin.id, scope: 'profile users:read users:write clients:write' },
      header,
    );

  /** The same header and signature around a different payload. */
  const tampered = (changes: JWTPayload) => {
    const [header, payload, signature] = aliceTokens.access_token.split('.');
    const claims = JSON.parse(
      Buffer.from(payload, 'base64url').toString('utf8'),
    ) as JWTPayload;
    return [header, base64url({ ...claims, ...changes }), signature].join('.');
  };

  /** RFC 7517: the service's signing public key, as a verifier fetches it. */
  const publishedKey = async () => {
    const { keys } = await jwksOf(testApp);
    const jwk = keys.find((key) => key.kid === currentKey.kid)!;
    return { jwk, publicKey: createPublicKey({ key: jwk, format: 'jwk' }) };
  };

  /** RFC 7515 §4.1.2: HS256 keyed with a form of the service's public key. */
  const confusedWith = async (
    secretOf: (key: Awaited<ReturnType<typeof publishedKey>>) => string,
  ) => {
    const secret = secretOf(await publishedKey());
    return compact(
      { alg: 'HS256', typ: 'at+jwt', kid: currentKey.kid },
      aliceClaims(),
      hmac(secret),
    );
  };

  const FORGERIES: Record<string, () => Promise<string> | string> = {
    // RFC 8725 §2.1 / §3.1: the algorithm is the key's, never the token's.
    'alg none, empty signature': () =>
      compact(
        { alg: 'none', typ: 'at+jwt', kid: currentKey.kid },
        aliceClaims(),
      ),
    'alg none, no signature part': () =>
      compact(
        { alg: 'none', typ: 'at+jwt', kid: currentKey.kid },
        aliceClaims(),
      ).slice(0, -1),
    'alg None (mixed case)': () =>
      compact(
        { alg: 'None', typ: 'at+jwt', kid: currentKey.kid },
        aliceClaims(),
      ),
    'alg none with the signature of a real token': () =>
      `${base64url({ alg: 'none', typ: 'at+jwt', kid: currentKey.kid })}.${
        aliceTokens.access_token.split('.')[1]
      }.${aliceTokens.access_token.split('.')[2]}`,
    'HS256 keyed with the public key as SPKI PEM': () =>
      confusedWith(({ publicKey }) =>
        publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      ),
    'HS256 keyed with the SPKI PEM without its last newline': () =>
      confusedWith(({ publicKey }) =>
        publicKey.export({ type: 'spki', format: 'pem' }).toString().trimEnd(),
      ),
    'HS256 keyed with the public key as PKCS#1 PEM': () =>
      confusedWith(({ publicKey }) =>
        publicKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      ),
    'HS256 keyed with the published JWK as JSON': () =>
      confusedWith(({ jwk }) => JSON.stringify(jwk)),
    'HS256 keyed with the JWK modulus': () => confusedWith(({ jwk }) => jwk.n!),
    'HS512 keyed with the public key as SPKI PEM': async () => {
      const { publicKey } = await publishedKey();
      const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
      return compact(
        { alg: 'HS512', typ: 'at+jwt', kid: currentKey.kid },
        aliceClaims(),
        (input) => createHmac('sha512', pem).update(input).digest('base64url'),
      );
    },
    // RFC 8725 §3.10: the kid names one of this service's keys, or nothing.
    'an unknown kid, signed by the attacker': () =>
      signedByAttacker({ kid: 'attacker-key' }),
    'no kid, signed by the attacker': () =>
      signedByAttacker({ kid: undefined }),
    'the service’s kid, signed by the attacker': () =>
      signedByAttacker({ kid: currentKey.kid }),
    'the current kid, signed with the other live key of the service': () =>
      signed(oldKey, {}, { kid: currentKey.kid }),
    'a kid with path traversal, HS256 with an empty secret (/dev/null)': () =>
      compact(
        { alg: 'HS256', typ: 'at+jwt', kid: '../../../../../../dev/null' },
        aliceClaims(),
        hmac(''),
      ),
    'a kid with path traversal, signed by the attacker': () =>
      signedByAttacker({ kid: '../../../../etc/passwd' }),
    'a kid with SQL in it': () =>
      signedByAttacker({
        kid: "' OR 1=1 UNION SELECT publicKey FROM signing_keys --",
      }),
    'a kid that is an object': () => signedByAttacker({ kid: { $ne: null } }),
    // RFC 8725 §3.10 / RFC 7515 §4.1.2–5: keys named in the token are never fetched or trusted.
    'a jwk header embedding the attacker’s public key': () =>
      signedByAttacker({ jwk: attackerJwk }),
    'a jku header pointing at the attacker’s key set': () =>
      signedByAttacker({ jku: 'http://attacker.test/jwks.json' }),
    'a jku header pointing at this service’s own key set': () =>
      signedByAttacker({ jku: `${TEST_PUBLIC_URL}/.well-known/jwks.json` }),
    'an x5u header pointing at the attacker’s certificate': () =>
      signedByAttacker({ x5u: 'http://attacker.test/cert.pem' }),
    'an x5c header with the attacker’s key': () =>
      signedByAttacker({
        x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'],
      }),
    // A payload changed under the original signature.
    'the sub of a real token changed to the admin’s': () =>
      tampered({ sub: admin.id }),
    'the scope of a real token widened to admin scopes': () =>
      tampered({ scope: 'profile users:read users:write clients:write' }),
    'the exp of a real token pushed a year ahead': () =>
      tampered({ exp: now() + 365 * 24 * 3600 }),
    'a real token with its header changed to typ JWT': () => {
      const [, payload, signature] = aliceTokens.access_token.split('.');
      return `${base64url({ alg: 'RS256', typ: 'JWT', kid: currentKey.kid })}.${payload}.${signature}`;
    },
    'a real token with its signature cut off': () =>
      aliceTokens.access_token.split('.').slice(0, 2).join('.') + '.',
    // RFC 7519 §4.1.4, §4.1.5, §4.1.6: time claims, with the real key.
    'an expired token signed with the service key': () =>
      signedByService({ iat: now() - 3600, exp: now() - 60 }),
    'a token not valid before an hour from now (nbf)': () =>
      signedByService({ nbf: now() + 3600 }),
    'a token issued an hour from now (iat in the future)': () =>
      signedByService({ iat: now() + 3600, exp: now() + 4500 }),
    'a token without iat (RFC 9068 §2.2 requires it)': () =>
      signedByService({ iat: undefined }),
    'a token without exp': () => signedByService({ exp: undefined }),
    'a token whose exp is a string': () =>
      signedByService({ exp: `${now() + 900}` as unknown as number }),
    // RFC 9068 §4: issuer and audience.
    'a token for another audience': () =>
      signedByService({ aud: 'http://other-service.test' }),
    'a token with the audience in a list of others': () =>
      signedByService({ aud: ['http://other-service.test'] }),
    'a token from another issuer': () =>
      signedByService({ iss: 'http://attacker.test' }),
    'a token without an issuer': () => signedByService({ iss: undefined }),
    // RFC 9068 §4: typ at+jwt, so an ID token or other JWT of the same key is no access token.
    'typ JWT': () => signedByService({}, { typ: 'JWT' }),
    'typ id_token+jwt': () => signedByService({}, { typ: 'id_token+jwt' }),
    'typ missing': () => signedByService({}, { typ: undefined }),
    'typ at+jwt with trailing space': () =>
      signedByService({}, { typ: 'at+jwt ' }),
    'typ as a list': () => signedByService({}, { typ: ['at+jwt'] }),
    'a critical header the service does not understand (RFC 7515 §4.1.11)':
      () =>
        compact(
          {
            alg: 'RS256',
            typ: 'at+jwt',
            kid: currentKey.kid,
            crit: ['exp-ext'],
            'exp-ext': true,
          },
          aliceClaims(),
          (input) =>
            sign('sha256', Buffer.from(input), currentKey.privateKey).toString(
              'base64url',
            ),
        ),
    // Tokens of another kind.
    'the refresh token used as an access token': () =>
      aliceTokens.refresh_token,
    'a string that is no JWT': () => 'not-a-jwt',
    'three empty segments': () => '..',
    'a header that is not JSON': () =>
      `${Buffer.from('{not json').toString('base64url')}.e30.`,
  };

  /** Alice's real tokens still work, so nothing was ended or changed. */
  async function expectAliceUnharmed() {
    const response = await client.me(aliceTokens.access_token);
    expect(response.status).toBe(200);
    expect(response.body.id).toBe(alice.id);
  }

  it('the control: a token made with the service key and alice’s claims is accepted', async () => {
    const response = await client.me(await signedByService());
    expect(response.status).toBe(200);
    expect(response.body.id).toBe(alice.id);
  });

  describe('RFC 6750 §3.1: GET /users/me answers 401 invalid_token and changes nothing', () => {
    it.each(Object.keys(FORGERIES))('%s', async (name) => {
      const token = await FORGERIES[name]();
      const before = await databaseSnapshot(testApp);

      const response = await client.me(token);

      expectInvalidToken(response, '/users/me');
      expect(await databaseSnapshot(testApp)).toEqual(before);
      await expectAliceUnharmed();
    });
  });

  describe('RFC 7662 §2.2: POST /auth/introspect answers {"active": false}', () => {
    it.each(Object.keys(FORGERIES))('%s', async (name) => {
      const token = await FORGERIES[name]();
      if (token === aliceTokens.refresh_token) return; // a live refresh token is active: its own test below
      const response = await testApp
        .http()
        .post('/auth/introspect')
        .type('form')
        .auth(introspector.id, introspector.clientSecret)
        .send({ token, token_type_hint: 'access_token' });

      expect({ status: response.status, body: response.body }).toEqual({
        status: 200,
        body: { active: false },
      });
    });
  });

  describe('RFC 7009 §2.2: POST /auth/revoke answers 200 and ends no session', () => {
    it.each(Object.keys(FORGERIES))('%s', async (name) => {
      const token = await FORGERIES[name]();
      if (token === aliceTokens.refresh_token) return; // revoking with it is legitimate
      const before = await databaseSnapshot(testApp);

      const response = await testApp
        .http()
        .post('/auth/revoke')
        .type('form')
        .send({ token, client_id: 'public' });

      expect(response.status).toBe(200);
      expect(await databaseSnapshot(testApp)).toEqual(before);
      await expectAliceUnharmed();
    });
  });

  describe('tokens of one kind used as the other', () => {
    it('the refresh token is introspected as a refresh token, never as a bearer token', async () => {
      const response = await testApp
        .http()
        .post('/auth/introspect')
        .type('form')
        .auth(introspector.id, introspector.clientSecret)
        .send({
          token: aliceTokens.refresh_token,
          token_type_hint: 'access_token',
        })
        .expect(200);

      expect(response.body).toMatchObject({ active: true, sub: alice.id });
      expect(response.body.token_type).toBeUndefined();
    });

    it('RFC 6749 §6: an access token as the refresh_token answers 400 invalid_grant and issues nothing', async () => {
      const before = await databaseSnapshot(testApp);

      const response = await client.refresh(aliceTokens.access_token);

      expectInvalidGrant(response);
      expect(await databaseSnapshot(testApp)).toEqual(before);
      await expectAliceUnharmed();
    });

    it('RFC 6749 §6: a forged token as the refresh_token answers 400 invalid_grant', async () => {
      const before = await databaseSnapshot(testApp);

      const response = await client.refresh(
        await signedByAttacker({ kid: currentKey.kid }),
      );

      expectInvalidGrant(response);
      expect(await databaseSnapshot(testApp)).toEqual(before);
    });

    it('RFC 6749 §2.3: an access token as client authentication answers 401 invalid_client', async () => {
      const response = await testApp
        .http()
        .post('/auth/introspect')
        .type('form')
        .set('Authorization', `Bearer ${aliceTokens.access_token}`)
        .send({ token: aliceTokens.access_token });

      expect(response.status).toBe(401);
      expect(response.body).toEqual({
        error: 'invalid_client',
        error_description: expect.any(String),
      });
    });
  });
});
