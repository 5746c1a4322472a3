import { HttpProblemException } from '../common/http-problem.exception.js';

/** RFC 9728 §3: where the metadata of this protected resource lives, which every challenge points at. */
export const PROTECTED_RESOURCE_METADATA_PATH =
  '/.well-known/oauth-protected-resource';

/**
 * RFC 6750 §3: the `WWW-Authenticate: Bearer` challenges of a protected
 * resource. Without any token the challenge carries no error code (§3.1).
 * Each names the resource's metadata (RFC 9728 §5.1), where a client
 * finds the authorization server.
 */
export class BearerChallenge {
  private readonly prefix: string;

  constructor(realm: string, resourceMetadataUrl: string) {
    this.prefix = `Bearer realm="${realm}", resource_metadata="${resourceMetadataUrl}"`;
  }

  missingToken(): HttpProblemException {
    return new HttpProblemException(
      401,
      'This operation needs an access token.',
      {
        'WWW-Authenticate': this.prefix,
      },
    );
  }

  invalidToken(description: string): HttpProblemException {
    return new HttpProblemException(401, description, {
      'WWW-Authenticate': `${this.prefix}, error="invalid_token", error_description="${quotable(description)}"`,
    });
  }

  insufficientScope(required: readonly string[]): HttpProblemException {
    const scope = required.join(' ');
    return new HttpProblemException(
      403,
      `The access token lacks the scope this operation needs: ${scope}.`,
      {
        'WWW-Authenticate': `${this.prefix}, error="insufficient_scope", scope="${scope}"`,
      },
    );
  }
}

/** RFC 6750 §3: error_description excludes `"` and `\`. */
function quotable(text: string): string {
  return text.replace(/["\\]/g, "'");
}

/** A token that verified but no longer speaks for an active user. */
export class RevokedAccessToken extends Error {}
