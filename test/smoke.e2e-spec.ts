import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { passwordGrant, registerUser } from './utils/flows.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp } from './utils/test-app.js';

describe('smoke', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await createTestApp();
  });
  afterAll(() => testApp.close());

  it('registers, logs in and reads /users/me', async () => {
    await registerUser(testApp);
    const token = await passwordGrant(testApp);
    const me = await testApp
      .http()
      .get('/users/me')
      .auth(token, { type: 'bearer' })
      .expect(200);
    expect(me.body.username).toBe('alice');
  });
});
