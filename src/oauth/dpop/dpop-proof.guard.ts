import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Injectable } from '@nestjs/common';
import { DpopProofRefused } from '../../access/dpop-proof-verification.js';
import type { OAuthRequest } from '../oauth-client.guard.js';
import { InvalidDpopProof, InvalidRequest } from '../protocol/oauth.errors.js';
import { DpopProofVerifier } from './dpop-proof-verifier.service.js';

/**
 * RFC 9449 §5 at the token endpoint, after the client is known and before
 * a password is checked: a DPoP header is verified whatever the grant, and
 * its key binds what is issued; a request without one is a bearer request,
 * unless its client was registered to always use DPoP.
 */
@Injectable()
export class DpopProofGuard implements CanActivate {
  constructor(private readonly proofs: DpopProofVerifier) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<OAuthRequest>();
    const { oauthClient: client } = request;
    if (!this.proofs.hasProof(request)) {
      // §5.2 names no error code for this. No proof is not an invalid one
      // (invalid_dpop_proof, §5): the request lacks what this client must
      // send, which RFC 6749 §5.2 calls invalid_request.
      if (client.client?.dpopBoundAccessTokens === true) {
        throw new InvalidRequest(
          'This client is registered to use DPoP: send a DPoP proof header with each token request.',
        );
      }
      return true;
    }
    try {
      request.dpop = await this.proofs.verifyForTokenRequest(request);
    } catch (error) {
      if (error instanceof DpopProofRefused)
        throw new InvalidDpopProof(error.message);
      throw error;
    }
    return true;
  }
}
