import ipaddr from 'ipaddr.js';

/**
 * The counter key of a client address. An IPv6 client usually holds a
 * whole /64 (RFC 6177): keyed per address, it would get 2^64 fresh limits.
 * IPv4 addresses, also written IPv4-mapped (`::ffff:192.0.2.1`), count alone.
 */
export function clientKeyOf(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const network = ipaddr.IPv6.networkAddressFromCIDR(
    `${parsed.toNormalizedString()}/64`,
  );
  return `${network.toString()}/64`;
}
