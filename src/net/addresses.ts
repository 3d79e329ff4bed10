import net from 'node:net';

/**
 * Addresses as the configuration and the throttles read them. Imports nothing of this repository:
 * config.ts, auth/ and ops/ all build on it.
 */

/** An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) as its IPv4 address; any other as it is. */
export function withoutIPv4Mapping(ip: string): string {
  return /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1] ?? ip;
}

/** Whether a host name or address is this machine's loopback (never reachable by a booth or a guest). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\./.test(h) || h === '0:0:0:0:0:0:0:1';
}

/**
 * A list of client addresses as configured (PHOTOCHANGER_TRUST_PROXY, PHOTOCHANGER_METRICS_ALLOW):
 * `loopback`, `linklocal`, `uniquelocal`, addresses and CIDRs. IPv4-mapped IPv6 addresses are
 * checked as IPv4.
 */
export class AddressList {
  private readonly list = new net.BlockList();

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      if (entry === 'loopback') {
        this.list.addSubnet('127.0.0.0', 8, 'ipv4');
        this.list.addAddress('::1', 'ipv6');
      } else if (entry === 'linklocal') {
        this.list.addSubnet('169.254.0.0', 16, 'ipv4');
        this.list.addSubnet('fe80::', 10, 'ipv6');
      } else if (entry === 'uniquelocal') {
        for (const [net4, bits] of [
          ['10.0.0.0', 8],
          ['172.16.0.0', 12],
          ['192.168.0.0', 16],
        ] as const)
          this.list.addSubnet(net4, bits, 'ipv4');
        this.list.addSubnet('fc00::', 7, 'ipv6');
      } else {
        const [address, bits] = entry.split('/');
        const type = net.isIPv6(address!) ? 'ipv6' : 'ipv4';
        if (bits === undefined) this.list.addAddress(address!, type);
        else this.list.addSubnet(address!, Number(bits), type);
      }
    }
  }

  has(address: string | undefined): boolean {
    const plain = address === undefined ? undefined : withoutIPv4Mapping(address);
    if (!plain || !net.isIP(plain)) return false;
    return this.list.check(plain, net.isIPv6(plain) ? 'ipv6' : 'ipv4');
  }
}

/**
 * The entries of a comma-separated address list (PHOTOCHANGER_TRUST_PROXY, PHOTOCHANGER_METRICS_ALLOW),
 * or undefined when one is not an address, a CIDR with a valid prefix, or a name AddressList knows.
 */
export function parseAddressEntries(text: string): string[] | undefined {
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (
    !entries.every(
      (e) => ['loopback', 'linklocal', 'uniquelocal'].includes(e) || /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(e),
    )
  )
    return undefined;
  try {
    new AddressList(entries);
    return entries;
  } catch {
    return undefined;
  }
}

/**
 * A base URL as the operator may write it (PHOTOCHANGER_*_BASE_URL, the public address in Settings):
 * absolute http(s), no user name or password, no query or fragment, the scheme written once. Its
 * canonical form has no trailing slash. `problem` says what is wrong in words.
 */
export function parseBaseUrl(text: string): { url: string } | { problem: string } {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return { problem: 'is not an absolute http(s) URL (e.g. https://booth.example.com)' };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    return { problem: 'must start with http:// or https://' };
  // "https://https://x" parses as host "https" with path "//x": a doubled scheme, not a host.
  if (/^https?$/i.test(parsed.hostname) || parsed.pathname.includes('//') || /^[a-z]+:\/\/[a-z]+:\/\//i.test(text))
    return { problem: 'repeats the scheme: write it once, e.g. https://booth.example.com' };
  if (parsed.username || parsed.password) return { problem: 'must not contain a user name or password' };
  if (parsed.search || parsed.hash) return { problem: 'must not have a query (?…) or fragment (#…)' };
  return { url: `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, '') };
}
