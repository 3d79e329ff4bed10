/**
 * "Can guests reach the public address?" asked from the server itself: GET <address>/healthz,
 * bounded (5 s, no redirect followed, 1 KiB of answer read). What one request from inside can and
 * cannot tell is said in words: a private or loopback address answers here but not on mobile data,
 * and a public address that fails from here may still work from outside (a router that does not
 * loop back), so the operator is told to open it on a phone.
 */
import net from 'node:net';
import { isLoopbackHost } from '../net/addresses.js';

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

/** 10/8, 172.16/12, 192.168/16, 100.64/10 (carrier NAT), link-local, and IPv6 unique-local / link-local. */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
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
    const why = (err as Error).name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000} s` : causeOf(err);
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
    const where =
      answer.status >= 300 && answer.status < 400 ? ` (a redirect to ${answer.headers.get('location') ?? '?'})` : '';
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

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}
