import { describe, expect, it } from '@jest/globals';
import { GOOD_PASSWORD, registerUser } from './utils/flows.js';
import { createTestApp, listenOnLoopback } from './utils/test-app.js';

/**
 * Far below the keep-alive timeout (72 s) that a connection left open would
 * hold the shutdown for, and far above a shutdown that waits only for its
 * requests' answers.
 */
const SHUTDOWN_BOUND_MS = 10_000;

describe('a graceful shutdown (SIGTERM) with requests in flight', () => {
  it('answers each of them, then ends: the keep-alive connections they came on do not hold the process open', async () => {
    // A real bcrypt cost, so that the logins are still hashing when the shutdown begins.
    const testApp = await createTestApp({ BCRYPT_COST: '12' });
    const usernames = ['alice', 'bob', 'carol'];
    for (const username of usernames) await registerUser(testApp, username);
    const base = await listenOnLoopback(testApp);

    // fetch keeps its connections alive, as most HTTP clients do.
    const logins = usernames.map((username) =>
      fetch(`${base}/auth/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'password',
          username,
          password: GOOD_PASSWORD,
        }),
      }).then((response) => response.status),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    let bound: NodeJS.Timeout | undefined;
    const shutdown = await Promise.race([
      testApp.close().then(() => 'ended'),
      new Promise((resolve) => {
        bound = setTimeout(() => resolve('still open'), SHUTDOWN_BOUND_MS);
      }),
    ]);
    clearTimeout(bound);

    expect(await Promise.all(logins)).toEqual([200, 200, 200]);
    expect(shutdown).toBe('ended');
  });
});
