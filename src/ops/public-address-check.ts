/**
 * "Can guests reach the public address?" asked from the server itself: GET <address>/healthz,
 * bounded (5 s, no redirect followed, 1 KiB of answer read). What one request from inside can and
 * cannot tell is said in words: a private or loopback address answers here but not on mobile data,
 * and a public address that fails from here may still work from outside (a router that does not
 * loop back), so the operator is told to open it on a phone.
 */
import net from 'node:net';
import { isLoopbackHost, parseBaseUrl, withoutIPv4Mapping } from '../net/addresses.js';

export type AddressCheckStatus = 'reachable' | 'local_only' | 'unreachable' | 'not_photochanger' | 'unset';

export interface AddressCheck {
  status: AddressCheckStatus;
  /** The address checked (none when unset). */
  url: string | null;
  /** What the operator reads. */
  message: string;
}

const TIMEOUT_MS = 5000;
const MAX_ANSWER_BYTES = 1024;

/** A URL's host as compared here: no brackets, no trailing dot, lower case, an IPv4-mapped IPv6 as IPv4. */
function plainHost(hostname: string): string {
  const host = hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
  // The URL parser writes a mapped IPv4 in hex (::ffff:7f00:1): back to dotted form.
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (hex) {
    const [hi, lo] = [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16)];
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return withoutIPv4Mapping(host);
}

/**
 * Why guests' phones could never open an address on this host, if so: a loopback or unspecified
 * address (0.0.0.0 and :: mean "every interface" to a server, and this machine itself to a client).
 */
function unusableHostProblem(hostname: string): string | undefined {
  const host = plainHost(hostname);
  if (isLoopbackHost(host) || host.endsWith('.localhost'))
    return 'is this machine itself (loopback): phones cannot open it';
  if (host === '::' || (net.isIPv4(host) && host.startsWith('0.')))
    return 'is not an address (0.0.0.0 or :: means "every interface"): use this machine’s network address or public name';
  return undefined;
}

/** The public address as the operator may save or check it: a base URL on a host phones can reach. */
export function parsePublicAddress(text: string): { url: string } | { problem: string } {
  const parsed = parseBaseUrl(text);
  if ('problem' in parsed) return parsed;
  const problem = unusableHostProblem(new URL(parsed.url).hostname);
  return problem ? { problem } : parsed;
}

/** 10/8, 172.16/12, 192.168/16, 100.64/10 (carrier NAT), link-local, and IPv6 unique-local / link-local. */
function isPrivateHost(hostname: string): boolean {
  const host = plainHost(hostname);
  if (isLoopbackHost(host) || host.endsWith('.local') || (!host.includes('.') && net.isIP(host) === 0)) return true;
  if (net.isIPv4(host)) {
    const [a, b] = host.split('.').map(Number) as [number, number];
    return (
      a === 10 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254)
    );
  }
  if (net.isIPv6(host)) return /^f[cd]/i.test(host) || /^fe80:/i.test(host);
  return false;
}

export async function checkPublicAddress(
  url: string | undefined,
  fetchImpl: typeof fetch = fetch,
): Promise<AddressCheck> {
  if (!url)
    return {
      status: 'unset',
      url: null,
      message: 'No public address is set: guest QR codes use this machine’s network address, if it has one.',
    };
  const local = isPrivateHost(new URL(url).hostname);
  let answer: Response;
  try {
    answer = await fetchImpl(`${url}/healthz`, { redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    const why = causeOf(err);
    return {
      status: 'unreachable',
      url,
      message: local
        ? `This server could not open ${url} (${why}): check the address and the port.`
        : `This server could not open ${url} (${why}). Guests may still reach it if the router does not loop back to itself: open the address on a phone on mobile data to be sure.`,
    };
  }
  const body = await readSome(answer);
  const ours = answer.status === 200 && /"status"\s*:\s*"ok"/.test(body);
  if (!ours) {
    const where = answer.status >= 300 && answer.status < 400 ? ' (a redirect)' : '';
    return {
      status: 'not_photochanger',
      url,
      message: `${url}/healthz answered HTTP ${answer.status}${where}, not PhotoChanger: the address leads somewhere else (a proxy not forwarding, another service on that port).`,
    };
  }
  return local
    ? {
        status: 'local_only',
        url,
        message: `PhotoChanger answers at ${url}, but it is a private address: only phones on this network can open guest links and QR codes (not on mobile data).`,
      }
    : { status: 'reachable', url, message: `PhotoChanger answers at ${url}.` };
}

async function readSome(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < MAX_ANSWER_BYTES) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    /* a broken answer is judged on what came */
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString('utf8');
}

/** Why a fetch failed, in a few fixed words (never the remote side's own text: certificate names, …). */
function causeOf(err: unknown): string {
  if ((err as Error).name === 'TimeoutError') return `no answer within ${TIMEOUT_MS / 1000} s`;
  const code = (err as { cause?: { code?: string } }).cause?.code ?? '';
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the name is not found';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'no route to it';
  if (code === 'ECONNRESET') return 'the connection was reset';
  if (/CERT|SSL|TLS/i.test(code)) return 'its TLS certificate is not accepted';
  return 'the connection failed';
}
