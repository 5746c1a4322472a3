import type { Session } from './session.entity.js';

/** One login on one device, as its user sees it. */
export class SessionDto {
  id!: string;
  /** @example "public" */
  clientId!: string;
  /** The API the session signed in to (RFC 8707 resource); null for this service. @example null */
  resource!: string | null;
  /** The scopes granted at login, at `resource`. @example "profile" */
  scope!: string;
  /** @example "Mozilla/5.0 (X11; Linux x86_64)" */
  userAgent!: string | null;
  /** @example "203.0.113.7" */
  ipAddress!: string | null;
  createdAt!: Date;
  lastUsedAt!: Date;
  expiresAt!: Date;
  /** True for the session of the access token making this request. */
  current!: boolean;

  static from(session: Session, currentSessionId: string | null): SessionDto {
    return Object.assign(new SessionDto(), {
      id: session.id,
      clientId: session.clientId,
      resource: session.resource,
      scope: session.scope,
      userAgent: session.userAgent,
      ipAddress: session.ipAddress,
      createdAt: session.createdAt,
      lastUsedAt: session.lastUsedAt,
      expiresAt: session.expiresAt,
      current: session.id === currentSessionId,
    });
  }
}
