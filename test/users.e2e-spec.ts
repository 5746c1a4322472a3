import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { User } from '../src/users/user.entity.js';
import { GOOD_PASSWORD, registerUser } from './utils/flows.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp } from './utils/test-app.js';

describe('POST /users', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await createTestApp();
  });
  afterAll(() => testApp.close());

  const register = (body: unknown) =>
    testApp
      .http()
      .post('/users')
      .send(body as object);
  const storedUsers = () =>
    testApp.app.get(DataSource).getRepository(User).find();

  it('creates the user and answers 201 with the resource and its Location', async () => {
    const response = await register({
      username: 'carol',
      password: GOOD_PASSWORD,
    }).expect(201);

    expect(response.headers.location).toBe(`/users/${response.body.id}`);
    expect(response.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      username: 'carol',
      isActive: true,
      roles: ['user'],
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(new Date(response.body.createdAt).toISOString()).toBe(
      response.body.createdAt,
    );
  });

  it('stores a bcrypt hash, never the password', async () => {
    const { id } = await registerUser(testApp, 'dave');
    const stored = await testApp.app
      .get(DataSource)
      .getRepository(User)
      .findOneByOrFail({ id });
    expect(stored.passwordHash).toMatch(/^\$2[aby]\$04\$/);
    expect(stored.passwordHash).not.toContain(GOOD_PASSWORD);
  });

  it('stores the username NFKC-normalised and lower-cased', async () => {
    const response = await register({
      username: 'ＥＶＥ.Smith',
      password: GOOD_PASSWORD,
    }).expect(201);
    expect(response.body.username).toBe('eve.smith');
  });

  it('answers 409 for a username taken in another case', async () => {
    await registerUser(testApp, 'frank');
    const response = await register({
      username: 'FRANK',
      password: GOOD_PASSWORD,
    }).expect(409);
    expect(response.headers['content-type']).toMatch(
      /^application\/problem\+json/,
    );
    expect(response.body).toEqual({
      type: 'about:blank',
      title: 'Conflict',
      status: 409,
      detail: 'This username is already taken.',
      instance: '/users',
    });
  });

  it('registers exactly one of two concurrent requests for one username', async () => {
    const statuses = await Promise.all(
      [0, 1, 2].map(
        async () =>
          (await register({ username: 'grace', password: GOOD_PASSWORD }))
            .status,
      ),
    );
    expect(statuses.sort()).toEqual([201, 409, 409]);
    expect(
      (await storedUsers()).filter((user) => user.username === 'grace'),
    ).toHaveLength(1);
  });

  describe('rejects invalid bodies with 400 problem details naming each field', () => {
    const fieldsOf = (body: { errors: { field: string }[] }) =>
      [...new Set(body.errors.map((error) => error.field))].sort();

    it.each([
      ['too short', 'ab'],
      ['too long', 'a'.repeat(65)],
      ['a space', 'bob smith'],
      ['a colon', 'bob:smith'],
      ['a line break (header injection)', 'bob\r\nSet-Cookie: x=1'],
    ])('a username with %s', async (_case, username) => {
      const response = await register({
        username,
        password: GOOD_PASSWORD,
      }).expect(400);
      expect(response.headers['content-type']).toMatch(
        /^application\/problem\+json/,
      );
      expect(fieldsOf(response.body)).toEqual(['username']);
    });

    it('a password shorter than PASSWORD_MIN_LENGTH code points, however many bytes', async () => {
      const response = await register({
        username: 'henry',
        password: '密码密码密码密码密码密码密码',
      }).expect(400);
      expect(response.body.errors).toEqual([
        {
          field: 'password',
          message: 'password must be at least 15 characters; this one is 14',
        },
      ]);
    });

    it('a password over 72 UTF-8 bytes, with the reason, never truncated', async () => {
      const response = await register({
        username: 'henry',
        password: 'ünïcödé pässwörd '.repeat(4),
      }).expect(400);
      expect(response.body.errors[0].field).toBe('password');
      expect(response.body.errors[0].message).toMatch(
        /at most 72 bytes.*truncated/,
      );
    });

    it('a password equal to the username', async () => {
      const response = await register({
        username: 'henry.the.eighth',
        password: 'Henry.The.Eighth',
      }).expect(400);
      expect(response.body.errors).toEqual([
        { field: 'password', message: 'password must not be the username' },
      ]);
    });

    it.each([
      'passwordpassword',
      '123456789012345',
      'qwertyuiop123456',
      'iloveyouiloveyou',
    ])('a common or breached password (%s)', async (password) => {
      const response = await register({ username: 'henry', password }).expect(
        400,
      );
      expect(response.body.errors[0]).toEqual({
        field: 'password',
        message: expect.stringMatching(/^password is too easy to guess/),
      });
    });

    it('every invalid field at once', async () => {
      const response = await register({
        username: 'x',
        password: 'short',
      }).expect(400);
      expect(fieldsOf(response.body)).toEqual(['password', 'username']);
    });

    it('missing fields and wrong types', async () => {
      const response = await register({ username: 42 }).expect(400);
      expect(fieldsOf(response.body)).toEqual(['password', 'username']);
    });

    it('roles and isActive: unknown fields are refused, not ignored (mass assignment)', async () => {
      const response = await register({
        username: 'mallory',
        password: GOOD_PASSWORD,
        roles: ['admin'],
        isActive: true,
      }).expect(400);
      expect(fieldsOf(response.body)).toEqual(['isActive', 'roles']);
      expect(
        (await storedUsers()).some((user) => user.username === 'mallory'),
      ).toBe(false);
    });
  });

  describe('rejects malformed requests with a clear 4xx', () => {
    it('400 for malformed JSON', async () => {
      const response = await testApp
        .http()
        .post('/users')
        .set('Content-Type', 'application/json')
        .send('{"username": "ivan",')
        .expect(400);
      expect(response.body).toMatchObject({
        status: 400,
        title: 'Bad Request',
      });
      expect(JSON.stringify(response.body)).not.toMatch(
        /at \S+ \(|node_modules/,
      );
    });

    it.each(['text/plain', 'application/xml'])(
      '415 for a %s body',
      async (type) => {
        const response = await testApp
          .http()
          .post('/users')
          .set('Content-Type', type)
          .send('username=ivan')
          .expect(415);
        expect(response.headers['content-type']).toMatch(
          /^application\/problem\+json/,
        );
      },
    );

    it('413 for a body over the limit', async () => {
      const response = await register({
        username: 'ivan',
        password: 'x'.repeat(100_000),
      }).expect(413);
      expect(response.body).toMatchObject({
        status: 413,
        title: 'Payload Too Large',
      });
    });

    it('400 for a JSON array or scalar body', async () => {
      await testApp
        .http()
        .post('/users')
        .set('Content-Type', 'application/json')
        .send('[]')
        .expect(400);
      await testApp
        .http()
        .post('/users')
        .set('Content-Type', 'application/json')
        .send('"x"')
        .expect(400);
    });

    it('leaves stored users unchanged', async () => {
      const before = await storedUsers();
      await register({
        username: 'frank',
        password: 'another long passphrase here',
      }).expect(409);
      await register({
        username: 'frank',
        password: GOOD_PASSWORD,
        roles: ['admin'],
      }).expect(400);
      expect(await storedUsers()).toEqual(before);
    });
  });
});
