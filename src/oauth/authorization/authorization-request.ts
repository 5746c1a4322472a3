import { Injectable } from '@nestjs/common';
import type { Client } from '../../clients/client.entity.js';
import { ClientsService } from '../../clients/clients.service.js';
import { matchesRegisteredRedirectUri } from '../../clients/redirect-uris.js';
import type { User } from '../../users/user.entity.js';
import { asAuthenticatedClient } from '../client-authenticator.service.js';
import { OAuthError } from '../protocol/oauth.errors.js';
import { grantScopes, userScopesAt } from '../token-grants.service.js';
import type { TokenTarget } from '../token-audiences.service.js';
import { TokenAudiences } from '../token-audiences.service.js';

/** RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters of the base64url alphabet. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/** The parameters of an authorization request this server reads (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 8707 §2). */
const PARAMETERS = [
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'code_challenge',
  'code_challenge_method',
] as const;

/** An authorization request that may go on: its client and redirect URI known and valid. */
export interface AuthorizationRequest {
  client: Client;
  /** As the request named it (a loopback one with its port), or the one registered. */
  redirectUri: string;
  state?: string;
  codeChallenge: string;
  requestedScope?: string;
  target: TokenTarget;
  /** The request's parameters, to repeat them in the consent form. */
  fields: [name: string, value: string][];
}

/** RFC 6749 §4.1.2.1: an error the client hears about, at its redirect URI. */
export interface RedirectedError {
  redirectUri: string;
  state?: string;
  error: string;
  description: string;
}

export type AuthorizationOutcome =
  | { kind: 'valid'; request: AuthorizationRequest }
  /** The client or its redirect URI is not known to be valid: tell the person, never redirect (§4.1.2.1). */
  | { kind: 'page'; message: string }
  | { kind: 'redirect'; error: RedirectedError };

/**
 * Reads an authorization request (RFC 6749 §4.1.1) as RFC 9700 §2.1 and
 * OAuth 2.1 profile it: the client and its exact redirect URI first, then
 * `response_type=code` and a PKCE S256 challenge, then what the client may
 * ask for (`scope`, one `resource`), as the token endpoint decides it.
 */
@Injectable()
export class AuthorizationRequests {
  constructor(
    private readonly clients: ClientsService,
    private readonly audiences: TokenAudiences,
  ) {}

  async read(raw: Record<string, unknown>): Promise<AuthorizationOutcome> {
    const params: Partial<Record<(typeof PARAMETERS)[number], string>> = {};
    for (const name of PARAMETERS) {
      const value = raw[name];
      if (Array.isArray(value)) {
        // §3.1: no parameter twice. Before the client is known, the person is told.
        if (name === 'client_id' || name === 'redirect_uri')
          return page(`The ${name} parameter is repeated.`);
        return this.afterClient(raw, params, {
          error: 'invalid_request',
          description: `${name} must not be repeated.`,
        });
      }
      if (typeof value === 'string' && value !== '') params[name] = value;
    }
    return this.afterClient(raw, params);
  }

  private async afterClient(
    raw: Record<string, unknown>,
    params: Partial<Record<(typeof PARAMETERS)[number], string>>,
    pending?: { error: string; description: string },
  ): Promise<AuthorizationOutcome> {
    if (params.client_id === undefined)
      return page('The request does not name the app (client_id).');
    const client = await this.clients.findById(params.client_id);
    if (client === null)
      return page('The app that sent you here is not registered.');
    const registered = client.redirectUris ?? [];
    if (registered.length === 0)
      return page('This app cannot sign people in through a browser.');
    let redirectUri: string;
    if (params.redirect_uri === undefined) {
      // §3.1.2.3: optional only when a single one is registered.
      if (registered.length !== 1)
        return page('The request does not say where to return (redirect_uri).');
      redirectUri = registered[0];
    } else if (matchesRegisteredRedirectUri(registered, params.redirect_uri)) {
      redirectUri = params.redirect_uri;
    } else {
      return page(
        'The address to return to (redirect_uri) is not one this app registered.',
      );
    }
    const state = params.state;
    const refuse = (error: string, description: string) =>
      ({
        kind: 'redirect',
        error: { redirectUri, state, error, description },
      }) as const;
    if (pending !== undefined)
      return refuse(pending.error, pending.description);
    if (params.response_type === undefined)
      return refuse('invalid_request', 'response_type is required.');
    if (params.response_type !== 'code')
      return refuse(
        'unsupported_response_type',
        'Only response_type=code is supported.',
      );
    if (!client.allowedGrantTypes.includes('authorization_code'))
      return refuse(
        'unauthorized_client',
        'This client may not use the authorization_code grant.',
      );
    // RFC 9700 §2.1.1, OAuth 2.1 §4.1.1: PKCE for every client, and S256 only (plain shows the verifier).
    if (params.code_challenge === undefined)
      return refuse(
        'invalid_request',
        'code_challenge is required (PKCE, RFC 7636), with code_challenge_method S256.',
      );
    if (params.code_challenge_method !== 'S256')
      return refuse(
        'invalid_request',
        'code_challenge_method must be S256; plain is not supported.',
      );
    if (!S256_CHALLENGE.test(params.code_challenge))
      return refuse(
        'invalid_request',
        'code_challenge must be the base64url SHA-256 of the code verifier (43 characters).',
      );
    const resources = resourcesOf(raw.resource);
    let target: TokenTarget;
    try {
      target = await this.audiences.target(
        resources,
        asAuthenticatedClient(client),
      );
      if (params.scope !== undefined)
        grantScopes(params.scope, target.clientScopes, target.audience);
    } catch (refusal) {
      if (refusal instanceof OAuthError)
        return refuse(refusal.error, refusal.description);
      throw refusal;
    }
    const fields: [string, string][] = [
      ...PARAMETERS.flatMap((name) =>
        params[name] === undefined
          ? []
          : [[name, params[name]] as [string, string]],
      ),
      ...resources.map(
        (resource) => ['resource', resource] as [string, string],
      ),
    ];
    return {
      kind: 'valid',
      request: {
        client,
        redirectUri,
        state,
        codeChallenge: params.code_challenge,
        requestedScope: params.scope,
        target,
        fields,
      },
    };
  }

  /**
   * The scopes the code grants this user: what was asked (all the client
   * may have, without `scope`), as far as the user's roles allow.
   * `invalid_scope` (an OAuthError) for a scope beyond the user's roles, as
   * at the token endpoint.
   */
  scopesFor(request: AuthorizationRequest, user: User): string[] {
    return grantScopes(
      request.requestedScope,
      userScopesAt(request.target, user.roles),
      request.target.audience,
    );
  }
}

function page(message: string): AuthorizationOutcome {
  return { kind: 'page', message };
}

/** RFC 8707 §2: repeatable; TokenAudiences refuses more than one. */
function resourcesOf(value: unknown): string[] {
  const values = Array.isArray(value) ? (value as unknown[]) : [value];
  return values.filter(
    (one): one is string => typeof one === 'string' && one !== '',
  );
}
