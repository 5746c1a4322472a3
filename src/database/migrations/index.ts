import { CreateUsersAndSigningKeys1764316800000 } from './1764316800000-create-users-and-signing-keys.js';
import { CreateSessionsAndClients1764403200000 } from './1764403200000-create-sessions-and-clients.js';
import { CreateAuditEvents1764489600000 } from './1764489600000-create-audit-events.js';
import { SigningKeysWithoutPrivateKey1764576000000 } from './1764576000000-signing-keys-without-private-key.js';
import { CreateLoginDevices1764662400000 } from './1764662400000-create-login-devices.js';
import { LoginDevicesByUserAndExpiry1764748800000 } from './1764748800000-login-devices-by-user-and-expiry.js';
import { ClientsWithKeys1764835200000 } from './1764835200000-clients-with-keys.js';
import { ResourceServers1764925200000 } from './1764925200000-resource-servers.js';
import { DpopBindings1765008000000 } from './1765008000000-dpop-bindings.js';
import { DeviceAuthorizations1765094400000 } from './1765094400000-device-authorizations.js';
import { BrowserSignIn1765180800000 } from './1765180800000-browser-sign-in.js';
import { SessionScopeAsText1765267200000 } from './1765267200000-session-scope-as-text.js';

/**
 * Every migration, in order. Listed by hand rather than globbed: a glob
 * would differ between src/*.ts under ts-jest and dist/*.js in production.
 * `npm run migration:generate` writes a file; add its class here.
 */
export const migrations = [
  CreateUsersAndSigningKeys1764316800000,
  CreateSessionsAndClients1764403200000,
  CreateAuditEvents1764489600000,
  SigningKeysWithoutPrivateKey1764576000000,
  CreateLoginDevices1764662400000,
  LoginDevicesByUserAndExpiry1764748800000,
  ClientsWithKeys1764835200000,
  ResourceServers1764925200000,
  DpopBindings1765008000000,
  DeviceAuthorizations1765094400000,
  BrowserSignIn1765180800000,
  SessionScopeAsText1765267200000,
];
