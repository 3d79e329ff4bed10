import type http from 'node:http';
import type net from 'node:net';
import { ClientCounts, clientKey } from '../auth/attempts.js';
import type { AddressList } from '../net/addresses.js';

/**
 * Open connections per client address, counted at accept (an IPv6 /64 is one client): beyond the
 * cap a connection is closed at once, before any byte of it is read, so one address's idle
 * sockets cannot take the connections every booth needs (docs/security.md). Addresses of trusted
 * reverse proxies (PHOTOCHANGER_TRUST_PROXY: `loopback`, addresses, CIDRs) are not capped: every
 * client behind nginx arrives from its address, and nginx caps them itself (`limit_conn`).
 */
export function capConnectionsPerAddress(server: http.Server, cap: number, proxies: AddressList | undefined): void {
  const open = new ClientCounts();
  server.on('connection', (socket: net.Socket) => {
    const address = socket.remoteAddress;
    if (!address || proxies?.has(address)) return;
    const key = clientKey(address);
    if (open.of(key) >= cap) {
      socket.destroy();
      return;
    }
    open.add(key);
    socket.once('close', () => open.remove(key));
  });
}
