import type http from 'node:http';
import net from 'node:net';
import { ClientCounts, clientKey } from '../auth/attempts.js';

/**
 * Open connections per client address, counted at accept (an IPv6 /64 is one client): beyond the
 * cap a connection is closed at once, before any byte of it is read, so one address's idle
 * sockets cannot take the connections every booth needs (docs/security.md). Addresses of trusted
 * reverse proxies (PHOTOCHANGER_TRUST_PROXY: `loopback`, addresses, CIDRs) are not capped: every
 * client behind nginx arrives from its address, and nginx caps them itself (`limit_conn`).
 */
export function capConnectionsPerAddress(server: http.Server, cap: number, trustProxy: boolean | number | string[]): void {
  const proxies = proxyList(trustProxy);
  const open = new ClientCounts();
  server.on('connection', (socket: net.Socket) => {
    const address = socket.remoteAddress;
    const plain = address?.replace(/^::ffff:/i, '');
    if (!address || !plain || proxies?.check(plain, net.isIPv6(plain) ? 'ipv6' : 'ipv4')) return;
    const key = clientKey(address);
    if (open.of(key) >= cap) {
      socket.destroy();
      return;
    }
    open.add(key);
    socket.once('close', () => open.remove(key));
  });
}

/** The proxies PHOTOCHANGER_TRUST_PROXY names, as a block list (undefined: none named). */
function proxyList(trustProxy: boolean | number | string[]): net.BlockList | undefined {
  if (!Array.isArray(trustProxy)) return undefined;
  const list = new net.BlockList();
  for (const entry of trustProxy) {
    if (entry === 'loopback') {
      list.addSubnet('127.0.0.0', 8, 'ipv4');
      list.addAddress('::1', 'ipv6');
    } else if (entry === 'linklocal') {
      list.addSubnet('169.254.0.0', 16, 'ipv4');
      list.addSubnet('fe80::', 10, 'ipv6');
    } else if (entry === 'uniquelocal') {
      for (const [net4, bits] of [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16]] as const) list.addSubnet(net4, bits, 'ipv4');
      list.addSubnet('fc00::', 7, 'ipv6');
    } else {
      const [address, bits] = entry.split('/');
      const type = net.isIPv6(address!) ? 'ipv6' : 'ipv4';
      if (bits === undefined) list.addAddress(address!, type);
      else list.addSubnet(address!, Number(bits), type);
    }
  }
  return list;
}
