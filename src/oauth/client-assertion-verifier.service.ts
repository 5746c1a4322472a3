import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { JWTPayload, ProtectedHeaderParameters } from 'jose';
import {
  decodeJwt,
  decodeProtectedHeader,
  errors,
  importJWK,
  jwtVerify,
} from 'jose';
import type { Client } from '../clients/client.entity.js';
import type { ClientJwk } from '../clients/client-jwks.js';
import { algorithmsOf } from '../clients/client-jwks.js';
import { ClientsService } from '../clients/clients.service.js';
import type { AppConfig } from '../config/env.js';
import { ClientAssertionJtis } from './client-assertion-jtis.service.js';

/** RFC 7521 §4.2. */
export const JWT_BEARER_ASSERTION_TYPE =
  'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** How far apart this server's clock and a client's may be. */
export const ASSERTION_CLOCK_SKEW_S = 30;
/**
 * An assertion expires at most this long after it is checked: a client
 * makes one per request, and the bound keeps the table of used `jti`s
 * small, since each is remembered until its assertion expires.
 */
export const ASSERTION_MAX_LIFETIME_S = 300;

/**
 * Why an assertion was refused. `description` is for the client; before
 * the signature is verified it says nothing the assertion's author would
 * not know without the key.
 */
export class ClientAssertionRefused extends Error {
  constructor(
    readonly clientId: string,
    readonly reason: string,
    readonly description: string,
  ) {
    super(description);
  }
}

/**
 * RFC 7523 §3 and §2.2: a JWT that a client signed with one of its
 * registered keys authenticates it. The algorithm is the key's, so `none`
 * and HMAC never verify; the audience is this server, the lifetime short,
 * and each `jti` is accepted once.
 */
@Injectable()
export class ClientAssertionVerifier {
  private readonly audiences: string[];

  constructor(
    private readonly clients: ClientsService,
    private readonly jtis: ClientAssertionJtis,
    config: ConfigService<AppConfig, true>,
  ) {
    const issuer = config.get('PUBLIC_URL', { infer: true });
    this.audiences = [issuer, `${issuer}/auth/token`];
  }

  /** The client the assertion authenticates; a ClientAssertionRefused otherwise. */
  async verify(assertion: string, claimedClientId?: string): Promise<Client> {
    const refuse = (clientId: string, reason: string, description: string) =>
      new ClientAssertionRefused(clientId, reason, description);
    let header: ProtectedHeaderParameters;
    let unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(assertion);
      unverified = decodeJwt(assertion);
    } catch {
      throw refuse(
        claimedClientId ?? '',
        'malformed',
        'client_assertion is not a signed JWT.',
      );
    }
    const clientId = unverified.iss;
    if (typeof clientId !== 'string' || clientId === '') {
      throw refuse(
        claimedClientId ?? '',
        'malformed',
        'The client assertion needs iss: the client id.',
      );
    }
    if (claimedClientId !== undefined && claimedClientId !== clientId) {
      throw refuse(
        claimedClientId,
        'client_id_mismatch',
        'client_id is not the iss of the client assertion.',
      );
    }
    const client = await this.clients.findById(clientId);
    const keys = client?.jwks?.keys ?? [];
    const key =
      header.kid === undefined
        ? keys.length === 1
          ? keys[0]
          : undefined
        : keys.find((candidate) => candidate.kid === header.kid);
    if (client === null || key === undefined) {
      throw refuse(
        clientId,
        'unknown_key',
        'No key registered for this client has the kid of the assertion.',
      );
    }
    if (!(algorithmsOf(key) as string[]).includes(header.alg ?? '')) {
      throw refuse(
        clientId,
        'algorithm',
        `The client assertion must be signed with ${key.alg}, the algorithm of its key.`,
      );
    }
    const payload = await this.verifySigned(assertion, key, clientId);
    await this.checkLifetimeAndUse(payload, clientId);
    return client;
  }

  private async verifySigned(
    assertion: string,
    key: ClientJwk,
    clientId: string,
  ): Promise<JWTPayload> {
    const refuse = (reason: string, description: string) =>
      new ClientAssertionRefused(clientId, reason, description);
    try {
      const { payload } = await jwtVerify(
        assertion,
        await importJWK({ ...key }, key.alg),
        {
          algorithms: algorithmsOf(key),
          issuer: clientId,
          subject: clientId,
          audience: this.audiences,
          clockTolerance: ASSERTION_CLOCK_SKEW_S,
          requiredClaims: ['sub', 'aud', 'exp', 'jti'],
        },
      );
      return payload;
    } catch (error) {
      if (error instanceof errors.JWSSignatureVerificationFailed) {
        throw refuse(
          'signature',
          "The client assertion's signature does not verify with the client's key.",
        );
      }
      if (error instanceof errors.JWTExpired) {
        throw refuse('expired', 'The client assertion has expired.');
      }
      if (error instanceof errors.JWTClaimValidationFailed) {
        throw refuse(`claim_${error.claim}`, claimProblem(error.claim));
      }
      throw refuse('malformed', 'The client assertion is not a valid JWT.');
    }
  }

  private async checkLifetimeAndUse(
    payload: JWTPayload,
    clientId: string,
  ): Promise<void> {
    const refuse = (reason: string, description: string) =>
      new ClientAssertionRefused(clientId, reason, description);
    const now = Math.floor(Date.now() / 1000);
    const exp = payload.exp!;
    if (exp > now + ASSERTION_MAX_LIFETIME_S + ASSERTION_CLOCK_SKEW_S) {
      throw refuse(
        'lifetime',
        `The client assertion's exp must be at most ${ASSERTION_MAX_LIFETIME_S} seconds ahead.`,
      );
    }
    if (
      payload.iat !== undefined &&
      payload.iat > now + ASSERTION_CLOCK_SKEW_S
    ) {
      throw refuse(
        'claim_iat',
        'The client assertion is issued in the future (iat).',
      );
    }
    const jti = payload.jti;
    if (typeof jti !== 'string' || jti === '') {
      throw refuse('claim_jti', 'The client assertion needs a jti.');
    }
    if (!(await this.jtis.use(clientId, jti, new Date(exp * 1000)))) {
      throw refuse(
        'replayed',
        'This client assertion (its jti) was already used: sign a new one for each request.',
      );
    }
  }
}

function claimProblem(claim: string): string {
  switch (claim) {
    case 'aud':
      return 'The client assertion is for another audience: aud must be the issuer or the token endpoint.';
    case 'sub':
      return 'The client assertion must have sub equal to iss, the client id.';
    case 'nbf':
      return 'The client assertion is not valid yet (nbf).';
    case 'iat':
      return 'The client assertion has an invalid iat.';
    case 'exp':
    case 'jti':
      return `The client assertion needs ${claim}.`;
    default:
      return 'The client assertion has an invalid claim.';
  }
}
