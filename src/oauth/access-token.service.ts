import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { KeyObject } from 'node:crypto';
import { randomUUID, sign } from 'node:crypto';
import type { ActorClaim } from '../access/access-principal.js';
import type { AppConfig } from '../config/env.js';
import { SIGNING_ALGORITHM } from './keys/key-material.js';
import { SigningKeysService } from './keys/signing-keys.service.js';

/** RFC 9068 §2.1: the media type that tells an access token from an ID token. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface AccessTokenRequest {
  /** The user's id, or the client's for client_credentials. */
  subject: string;
  clientId: string;
  scopes: readonly string[];
  /** The session of a user's token; none for a client's own token. */
  sessionId?: string;
  /** The `aud`: a registered API's identifier; by default this service's own. */
  audience?: string;
  /** RFC 8693 §4.1: who acts for the subject (a token exchange's delegation). */
  actor?: ActorClaim;
  /** A latest `exp` (seconds): an exchanged token outlives not the token it came from. */
  notAfter?: number;
  /** RFC 9449 §6.1: the thumbprint of the DPoP key the token is bound to. */
  confirmation?: { jkt: string };
}

export interface IssuedAccessToken {
  token: string;
  expiresIn: number;
}

/**
 * Signs RFC 9068 JWT access tokens (RFC 7515 compact serialization).
 * The RSA signature is most of a token's cost: given a callback, node:crypto
 * computes it on libuv's thread pool, so every core signs while the event
 * loop goes on serving requests (jsonwebtoken signs on the event loop).
 */
@Injectable()
export class AccessTokenService {
  private readonly issuer: string;
  private readonly audience: string;
  private readonly ttlSeconds: number;

  constructor(
    private readonly keys: SigningKeysService,
    config: ConfigService<AppConfig, true>,
  ) {
    this.issuer = config.get('PUBLIC_URL', { infer: true });
    this.audience = config.get('ACCESS_TOKEN_AUDIENCE', { infer: true });
    this.ttlSeconds = config.get('ACCESS_TOKEN_TTL', { infer: true });
  }

  async issue(request: AccessTokenRequest): Promise<IssuedAccessToken> {
    const { kid, privateKey } = this.keys.signingKey;
    const issuedAt = Math.floor(Date.now() / 1000);
    const expiresAt = Math.min(
      issuedAt + this.ttlSeconds,
      request.notAfter ?? Infinity,
    );
    const header = { alg: SIGNING_ALGORITHM, typ: ACCESS_TOKEN_TYPE, kid };
    const claims = {
      client_id: request.clientId,
      scope: request.scopes.join(' '),
      ...(request.sessionId === undefined ? {} : { sid: request.sessionId }),
      ...(request.actor === undefined ? {} : { act: request.actor }),
      ...(request.confirmation === undefined
        ? {}
        : { cnf: { jkt: request.confirmation.jkt } }),
      iat: issuedAt,
      exp: expiresAt,
      aud: request.audience ?? this.audience,
      iss: this.issuer,
      sub: request.subject,
      jti: randomUUID(),
    };
    const signingInput = `${base64url(header)}.${base64url(claims)}`;
    const signature = await rs256(signingInput, privateKey);
    return {
      token: `${signingInput}.${signature.toString('base64url')}`,
      expiresIn: expiresAt - issuedAt,
    };
  }
}

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** RFC 7518 §3.3: RSASSA-PKCS1-v1_5 with SHA-256, node:crypto's default padding for an RSA key. */
function rs256(signingInput: string, privateKey: KeyObject): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    sign('sha256', Buffer.from(signingInput), privateKey, (error, signature) =>
      error ? reject(error) : resolve(signature),
    ),
  );
}
