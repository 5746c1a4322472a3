import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { RefreshToken } from '../src/sessions/refresh-token.entity.js';
import { Session } from '../src/sessions/session.entity.js';
import { SessionCleanup } from '../src/sessions/session-cleanup.service.js';
import { SessionsService } from '../src/sessions/sessions.service.js';
import { registerUser, tokenClient } from './utils/flows.js';
import type { TestApp } from './utils/test-app.js';
import { createTestApp } from './utils/test-app.js';

const DAY_MS = 24 * 3600 * 1000;

describe('session cleanup', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await createTestApp();
    await registerUser(testApp, 'alice');
  });
  afterAll(() => testApp.close());

  const { login } = tokenClient(() => testApp);
  const sessions = () => testApp.app.get(DataSource).getRepository(Session);
  const refreshTokens = () =>
    testApp.app.get(DataSource).getRepository(RefreshToken);

  it('removes expired refresh tokens, and sessions ended or expired a week ago, keeping live ones', async () => {
    const ended = await login();
    await testApp
      .http()
      .post('/auth/revoke')
      .type('form')
      .send({ token: ended.refresh_token })
      .expect(200);
    const live = await login();
    const liveRow = await testApp.app
      .get(SessionsService)
      .findByRefreshToken(live.refresh_token);

    // Fifteen days on: every refresh token has expired (14 days), the ended session is past its week.
    await testApp.app
      .get(SessionCleanup)
      .removeStale(new Date(Date.now() + 15 * DAY_MS));

    expect(await refreshTokens().count()).toBe(0);
    const remaining = await sessions().find();
    expect(remaining.map((session) => session.id)).toEqual([
      liveRow!.sessionId,
    ]);
  });

  it('keeps everything that can still be used', async () => {
    const { refresh_token } = await login();
    const before = {
      sessions: await sessions().count(),
      tokens: await refreshTokens().count(),
    };

    await testApp.app.get(SessionCleanup).removeStale();

    expect({
      sessions: await sessions().count(),
      tokens: await refreshTokens().count(),
    }).toEqual(before);
    await testApp
      .http()
      .post('/auth/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token })
      .expect(200);
  });
});
