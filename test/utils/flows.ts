import type { TestApp } from './test-app.js';

/** A password that passes the policy, for tests that are not about passwords. */
export const GOOD_PASSWORD = 'correct horse battery staple';

export async function registerUser(
  testApp: TestApp,
  username = 'alice',
  password = GOOD_PASSWORD,
): Promise<{ id: string; username: string }> {
  const response = await testApp
    .http()
    .post('/users')
    .send({ username, password })
    .expect(201);
  return response.body as { id: string; username: string };
}

export async function passwordGrant(
  testApp: TestApp,
  username = 'alice',
  password = GOOD_PASSWORD,
  extra: Record<string, string> = {},
): Promise<string> {
  const response = await testApp
    .http()
    .post('/auth/token')
    .type('form')
    .send({ grant_type: 'password', username, password, ...extra })
    .expect(200);
  return (response.body as { access_token: string }).access_token;
}

/** The administrator the app seeds from ADMIN_USERNAME / ADMIN_PASSWORD. */
export const ADMIN = {
  username: 'root',
  password: 'a long admin passphrase here',
};

/** The environment that makes createTestApp seed ADMIN. */
export const ADMIN_ENV = {
  ADMIN_USERNAME: ADMIN.username,
  ADMIN_PASSWORD: ADMIN.password,
};

/** Every scope an administrator's password grant receives. */
export const ADMIN_SCOPE =
  'profile users:read users:write clients:write audit:read metrics:read';

/** RFC 6749 §5.1: a successful token response. */
export interface TokenBody {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
  scope: string;
}

/**
 * Token-endpoint helpers bound to one app (RFC 6749 §4.3 password grant,
 * §6 refresh). The app is read lazily: tests create it in `beforeAll`.
 */
export function tokenClient(testApp: () => TestApp) {
  /** POST /auth/token with a form body, as RFC 6749 §3.2 requires. */
  const tokenRequest = (form: Record<string, string>) =>
    testApp().http().post('/auth/token').type('form').send(form);
  /** A password grant, its answer left to the test. */
  const loginRequest = (
    username = 'alice',
    password = GOOD_PASSWORD,
    extra: Record<string, string> = {},
  ) => tokenRequest({ grant_type: 'password', username, password, ...extra });
  /** A password grant that must succeed: a fresh session. */
  const login = async (
    username = 'alice',
    password = GOOD_PASSWORD,
    extra: Record<string, string> = {},
  ): Promise<TokenBody> =>
    (await loginRequest(username, password, extra).expect(200))
      .body as TokenBody;
  const refresh = (refreshToken: string, extra: Record<string, string> = {}) =>
    tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      ...extra,
    });
  const me = (accessToken: string) =>
    testApp()
      .http()
      .get('/users/me')
      .set('Authorization', `Bearer ${accessToken}`);
  return { tokenRequest, loginRequest, login, refresh, me };
}

/** A service client as POST /clients answers it: the secret is shown this once. */
export interface CreatedClient {
  id: string;
  name: string;
  allowedScopes: string[];
  allowedGrantTypes: string[];
  createdAt: string;
  clientSecret: string;
}

/** Registers a service client as the administrator (POST /clients, 201). */
export async function createClientAs(
  testApp: TestApp,
  adminToken: string,
  body: Record<string, unknown>,
): Promise<CreatedClient> {
  const response = await testApp
    .http()
    .post('/clients')
    .set('Authorization', `Bearer ${adminToken}`)
    .send(body)
    .expect(201);
  return response.body as CreatedClient;
}
