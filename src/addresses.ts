/**
 * Addresses as options and peers give them: `host:port` parsed and formatted (IPv6 in brackets),
 * and which hosts are wildcards or loopback.
 */
import { isIP, isIPv6 } from 'node:net';
import { optionError } from './option-errors.js';

/** Parses `host:port` (IPv6 as `[::1]:port`); throws naming `field` when malformed. */
export function parseAddress(address: unknown, field: string): { host: string; port: number } {
  if (typeof address === 'string') {
    const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address);
    const port = match ? Number(match[3]) : Number.NaN;
    if (match && port > 0 && port < 65536) return { host: (match[1] ?? match[2]) as string, port };
  }
  throw optionError(field, 'an address "host:port" with a port from 1 to 65535', address);
}

/** `true` for a wildcard (unspecified) address: `0.0.0.0`, `::`, `0:0::0`... */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || (isIPv6(host) && /^[0:]+$/.test(host));
}

/** `true` for a loopback address: `127.0.0.0/8`, `::1`, `::ffff:127.x.x.x`. */
export function isLoopbackAddress(address: string): boolean {
  if (isIP(address) === 4) return address.startsWith('127.');
  const lower = address.toLowerCase();
  return /^(0{0,4}:){2,7}0{0,3}1$/.test(lower) || /^::ffff:127\./.test(lower);
}

/** Formats a host and port as `host:port` (`[v6]:port`). */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
