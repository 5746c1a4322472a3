import type { Consent } from '../consent.entity.js';

/** Scopes a user let a third-party client have, at one audience. */
export class ConsentDto {
  /** @example "svc_Zk3x9QmB2vT8aLrE" */
  clientId!: string;
  /**
   * The audience of the access tokens: this service, or a registered API.
   * @example "https://auth.example.com"
   */
  audience!: string;
  /** @example ["profile"] */
  scopes!: string[];
  grantedAt!: Date;

  static from(consent: Consent): ConsentDto {
    return Object.assign(new ConsentDto(), {
      clientId: consent.clientId,
      audience: consent.audience,
      scopes: [...consent.scopes],
      grantedAt: consent.grantedAt,
    });
  }
}
