import { HttpProblemException } from '../common/http-problem.exception.js';

/**
 * RFC 9449 §7.1: the `WWW-Authenticate: DPoP` challenges answered to a
 * request that used the DPoP scheme, each naming the algorithms a proof
 * may use (`algs`) and, like the Bearer challenges, the realm and the
 * resource's metadata (RFC 9728 §5.1). A request with a bearer token or
 * none keeps the Bearer challenge (BearerChallenge).
 */
export class DpopChallenge {
  private readonly prefix: string;

  constructor(
    realm: string,
    resourceMetadataUrl: string,
    algorithms: readonly string[],
  ) {
    this.prefix = `DPoP realm="${realm}", resource_metadata="${resourceMetadataUrl}", algs="${algorithms.join(' ')}"`;
  }

  missingToken(): HttpProblemException {
    return new HttpProblemException(
      401,
      'This operation needs an access token.',
      { 'WWW-Authenticate': this.prefix },
    );
  }

  invalidToken(description: string): HttpProblemException {
    return this.refusal('invalid_token', description);
  }

  /** §7.1: the proof is missing, malformed, replayed or not for this request or token. */
  invalidProof(description: string): HttpProblemException {
    return this.refusal('invalid_dpop_proof', description);
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

  private refusal(error: string, description: string): HttpProblemException {
    return new HttpProblemException(401, description, {
      'WWW-Authenticate': `${this.prefix}, error="${error}", error_description="${description.replace(/["\\]/g, "'")}"`,
    });
  }
}
