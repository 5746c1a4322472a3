import proxyAddr from '@fastify/proxy-addr';
import type {
  ValidatorConstraintInterface,
  ValidationArguments,
} from 'class-validator';
import { ValidatorConstraint } from 'class-validator';

/** Whether the hop at `address`, `hop` steps from the socket, may name the client: Fastify's `trustProxy` form. */
export type ProxyTrust = (address: string, hop: number) => boolean;

/** TRUST_PROXY as the function Fastify asks for each `X-Forwarded-For` hop. */
export function proxyTrustOf(setting: string): ProxyTrust {
  if (setting === 'false') return () => false;
  if (setting === 'true') return () => true;
  if (/^\d+$/.test(setting)) {
    const hops = Number(setting);
    return (_address, hop) => hop < hops;
  }
  // Throws on anything that is not an address, a CIDR or a proxy-addr keyword.
  return proxyAddr.compile(setting.split(',').map((entry) => entry.trim()));
}

@ValidatorConstraint({ name: 'trustProxy' })
export class TrustProxySetting implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    if (typeof value !== 'string') return false;
    try {
      proxyTrustOf(value);
      return true;
    } catch {
      return false;
    }
  }

  defaultMessage(args: ValidationArguments): string {
    return `${args.property} must be false, true, a hop count, or the proxies' addresses and CIDRs separated by commas (e.g. 10.0.0.0/8,loopback)`;
  }
}
