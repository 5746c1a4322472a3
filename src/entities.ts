import { AuditEvent } from './audit/audit-event.entity.js';
import { LoginDevice } from './users/credentials/login-device.entity.js';
import { SigningKey } from './oauth/keys/signing-key.entity.js';
import { Client } from './clients/client.entity.js';
import { ClientAssertionJti } from './oauth/client-assertion-jti.entity.js';
import { ResourceServer } from './resource-servers/resource-server.entity.js';
import { ResourceServerClient } from './resource-servers/resource-server-client.entity.js';
import { DpopProofJti } from './oauth/dpop/dpop-proof-jti.entity.js';
import { DeviceAuthorization } from './oauth/device/device-authorization.entity.js';
import { RefreshToken } from './sessions/refresh-token.entity.js';
import { Session } from './sessions/session.entity.js';
import { User } from './users/user.entity.js';
import { AuthorizationCode } from './oauth/authorization/authorization-code.entity.js';
import { BrowserSession } from './browser/browser-session.entity.js';
import { Consent } from './browser/consent.entity.js';

/**
 * Every entity, for the DataSource of the app and of the migration CLI
 * (ormconfig.ts). Listed here, above every feature, so that the database
 * layer knows none of them.
 */
export const entities = [
  User,
  SigningKey,
  Session,
  RefreshToken,
  Client,
  AuditEvent,
  LoginDevice,
  ClientAssertionJti,
  ResourceServer,
  ResourceServerClient,
  DpopProofJti,
  DeviceAuthorization,
  AuthorizationCode,
  BrowserSession,
  Consent,
];
