import * as oauth from 'oauth4webapi';
import { ADMIN, ADMIN_ENV, passwordGrant } from './flows.js';
import { freePort } from './processes.js';
import type { TestApp } from './test-app.js';
import { createTestApp } from './test-app.js';

/** oauth4webapi refuses plain http unless told; these tests run on loopback. */
export const LOOPBACK = { [oauth.allowInsecureRequests]: true } as const;

export interface AppForOauth4webapi {
  testApp: TestApp;
  adminToken: string;
  /** The RFC 8414 metadata, as oauth4webapi read and checked it. */
  as: oauth.AuthorizationServer;
}

/**
 * The app with its seeded administrator, listening on a loopback port
 * chosen first: oauth4webapi insists that the issuer is the address it
 * reaches, so PUBLIC_URL must be known before the app starts.
 */
export async function appForOauth4webapi(
  env: Record<string, string> = {},
): Promise<AppForOauth4webapi> {
  const port = await freePort();
  const issuer = new URL(`http://127.0.0.1:${port}`);
  const testApp = await createTestApp({
    ...ADMIN_ENV,
    PUBLIC_URL: issuer.origin,
    ...env,
  });
  await testApp.app.listen({ port, host: '127.0.0.1' });
  const adminToken = await passwordGrant(
    testApp,
    ADMIN.username,
    ADMIN.password,
  );
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...LOOPBACK }),
  );
  return { testApp, adminToken, as };
}
