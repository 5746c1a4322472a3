import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import { randomUUID } from 'node:crypto';
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
}

export interface IssuedAccessToken {
  token: string;
  expiresIn: number;
}

/** Signs RFC 9068 JWT access tokens. */
@Injectable()
export class AccessTokenService {
  private readonly issuer: string;
  private readonly audience: string;
  private readonly ttlSeconds: number;

  constructor(
    private readonly jwt: JwtService,
    private readonly keys: SigningKeysService,
    config: ConfigService<AppConfig, true>,
  ) {
    this.issuer = config.get('PUBLIC_URL', { infer: true });
    this.audience = config.get('ACCESS_TOKEN_AUDIENCE', { infer: true });
    this.ttlSeconds = config.get('ACCESS_TOKEN_TTL', { infer: true });
  }

  async issue(request: AccessTokenRequest): Promise<IssuedAccessToken> {
    const { kid, privateKey } = this.keys.signingKey;
    const token = await this.jwt.signAsync(
      {
        client_id: request.clientId,
        scope: request.scopes.join(' '),
        ...(request.sessionId === undefined ? {} : { sid: request.sessionId }),
      },
      {
        algorithm: SIGNING_ALGORITHM,
        privateKey,
        keyid: kid,
        header: { alg: SIGNING_ALGORITHM, typ: ACCESS_TOKEN_TYPE, kid },
        issuer: this.issuer,
        audience: this.audience,
        subject: request.subject,
        expiresIn: this.ttlSeconds,
        jwtid: randomUUID(),
      },
    );
    return { token, expiresIn: this.ttlSeconds };
  }
}
