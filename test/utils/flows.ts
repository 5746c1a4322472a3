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
