/**
 * The address booths and guests reach this server at — one rule for every guest link and QR code
 * (the print, the job page, the live screen, shared galleries): PHOTOCHANGER_PUBLIC_BASE_URL when
 * set, else the public address saved in Settings, else the machine's first LAN address and the
 * listening port (phones on the venue's network only), else none (the QR code is left off and the
 * job says so). Links and QR codes for guests are built only from this — never from a request's
 * Host header (anyone can send `Host: evil.example`) and never on a loopback host (no phone can
 * open 127.0.0.1).
 */
import os from 'node:os';
import type { Config } from '../config.js';
import { isLoopbackHost } from '../net/addresses.js';

export type PublicBaseSource = 'configured' | 'lan' | 'none';

export interface PublicBase {
  /** Without a trailing slash; undefined when no address reachable from other machines is known. */
  url: string | undefined;
  /** configured: the operator's public address (the environment or Settings); lan: this machine's; none. */
  source: PublicBaseSource;
}

/** The operator's public address and where it was set (the environment wins over Settings). */
export interface ConfiguredBase {
  url: string;
  from: 'environment' | 'settings';
}

export type InterfaceLister = () => NodeJS.Dict<os.NetworkInterfaceInfo[]>;

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);

/** This machine's addresses other machines can use: IPv4 first (private ranges first), then global IPv6. */
export function lanAddresses(interfaces: InterfaceLister = os.networkInterfaces): string[] {
  const all = Object.values(interfaces()).flatMap((list) => list ?? []);
  const v4 = all
    .filter((a) => a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.'))
    .map((a) => a.address);
  const privateFirst = (a: string) => (/^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(a) ? 0 : 1);
  v4.sort((a, b) => privateFirst(a) - privateFirst(b));
  const v6 = all
    .filter((a) => a.family === 'IPv6' && !a.internal && !/^fe80:/i.test(a.address))
    .map((a) => `[${a.address}]`);
  return [...new Set([...v4, ...v6])];
}

export class PublicAddress {
  private port: number;
  /** The address saved in Settings (src/settings/routes.ts), refreshed by the server (src/server.ts). */
  private saved: string | undefined;

  constructor(
    private readonly config: Pick<Config, 'publicBaseUrl' | 'host' | 'port'>,
    private readonly interfaces: InterfaceLister = os.networkInterfaces,
  ) {
    this.port = config.port;
  }

  /** The port the server actually listens on (PHOTOCHANGER_PORT=0 picks one). */
  listening(port: number): void {
    this.port = port;
  }

  /** The hosts this server can be reached on from other machines (for the start banner). */
  reachableHosts(): string[] {
    const host = this.config.host;
    if (isLoopbackHost(host)) return [];
    if (!WILDCARD_HOSTS.has(host)) return [host.includes(':') && !host.startsWith('[') ? `[${host}]` : host];
    return lanAddresses(this.interfaces);
  }

  /** Changes of the saved address made here: a slower read begun before one must not undo it. */
  private generation = 0;

  /** Takes the public address saved in Settings (undefined: none saved). */
  setSaved(url: string | undefined): void {
    this.generation++;
    this.saved = url?.replace(/\/+$/, '');
  }

  /** Reads the saved address again (another instance may have changed it), unless it was set here meanwhile. */
  async refresh(read: () => Promise<string | undefined>): Promise<void> {
    const before = this.generation;
    const value = await read();
    if (this.generation === before) this.setSaved(value);
  }

  /** The operator's public address (what a provider that downloads from us needs), if any. */
  configured(): ConfiguredBase | undefined {
    if (this.config.publicBaseUrl) return { url: this.config.publicBaseUrl, from: 'environment' };
    return this.saved ? { url: this.saved, from: 'settings' } : undefined;
  }

  /** The base for booth and guest links. */
  base(): PublicBase {
    const configured = this.configured();
    if (configured) return { url: configured.url, source: 'configured' };
    const host = this.reachableHosts().find((h) => !h.startsWith('['));
    const any = host ?? this.reachableHosts()[0];
    return any ? { url: `http://${any}:${this.port}`, source: 'lan' } : { url: undefined, source: 'none' };
  }

  /** Every URL other machines can use (the configured one first), e.g. for the banner. */
  baseUrls(): string[] {
    const lan = this.reachableHosts().map((h) => `http://${h}:${this.port}`);
    const configured = this.configured()?.url;
    return [...new Set([...(configured ? [configured] : []), ...lan])];
  }
}
