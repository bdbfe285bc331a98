/**
 * Where {@link dnsDiscovery}'s answers come from: the system resolver (or a `lookup` given in
 * the options), or DNS servers asked directly (`servers`, e.g. Consul's DNS interface on port
 * 8600, which the system resolver cannot reach); and how a name becomes addresses, from A/AAAA
 * records with one port for all, or from SRV records that give each target its own port.
 *
 * A name that has no records at all fails like any other lookup, so the last view stays: a
 * service briefly without ready pods, or a DNS answer lost, never empties it. A family without
 * records (an IPv4-only name asked for both) is simply empty.
 */
import { Resolver, resolveSrv as systemResolveSrv } from 'node:dns/promises';
import { formatAddress } from '../addresses.js';
import type { DnsAddress, DnsLookup } from './dns.js';

/** One SRV record: a target host name and the port on it. */
export interface SrvTarget {
  readonly name: string;
  readonly port: number;
}

/** The records a DNS discovery reads. */
export interface RecordSource {
  /** The A and/or AAAA records of `name` (`family` 4, 6 or 0 for both). */
  addresses(name: string, family: 0 | 4 | 6): Promise<readonly DnsAddress[]>;
  /** The SRV records of `name`. */
  srv(name: string): Promise<readonly SrvTarget[]>;
  /** Cancels the queries under way (they reject), so a stopped node keeps no socket open. */
  cancel(): void;
}

/** Error codes that mean "no such records", as opposed to a lookup that failed. */
const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND']);

/** The system resolver (or the `lookup` given); SRV through `node:dns` with the system's servers. */
export function systemSource(lookup: DnsLookup): RecordSource {
  return {
    addresses: (name, family) => lookup(name, { all: true, family }),
    srv: (name) => systemResolveSrv(name),
    cancel() {}, // the system resolver is shared with the whole process: its queries end on their own
  };
}

/**
 * DNS servers asked directly (`'10.96.0.10'`, `'127.0.0.1:8600'`, `'[::1]:53'`). Throws a
 * `TypeError` for a server `node:dns` cannot use. Each query is given `timeoutMs`, tried twice.
 */
export function serverSource(servers: readonly string[], timeoutMs: number): RecordSource {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 2 });
  resolver.setServers([...servers]);
  const query = <T>(run: () => Promise<T[]>): Promise<T[]> =>
    run().catch((err: NodeJS.ErrnoException) => {
      if (NO_RECORDS.has(err.code ?? '')) return [];
      throw err;
    });
  return {
    async addresses(name, family) {
      const [v4, v6] = await Promise.all([
        family === 6 ? [] : query(() => resolver.resolve4(name)),
        family === 4 ? [] : query(() => resolver.resolve6(name)),
      ]);
      const found = [
        ...v4.map((address) => ({ address, family: 4 })),
        ...v6.map((address) => ({ address, family: 6 })),
      ];
      if (found.length === 0) throw noRecords(name);
      return found;
    },
    srv: (name) => resolver.resolveSrv(name),
    cancel: () => resolver.cancel(),
  };
}

/**
 * The addresses (`host:port`) that `name`'s SRV records point to. A target whose name has no
 * address is left out; a lookup that fails otherwise fails the whole answer, so a partial one
 * never replaces the view.
 */
export async function srvAddresses(
  source: RecordSource,
  name: string,
  family: 0 | 4 | 6,
): Promise<string[]> {
  const targets = await source.srv(name);
  const answers = await Promise.all(
    targets.map(async (target) => {
      try {
        const records = await source.addresses(target.name, family);
        return records.map((r) => formatAddress(r.address, target.port));
      } catch (err) {
        if (NO_RECORDS.has((err as NodeJS.ErrnoException).code ?? '')) return [];
        throw err;
      }
    }),
  );
  const addresses = answers.flat();
  if (addresses.length === 0) throw noRecords(name);
  return addresses;
}

function noRecords(name: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`no addresses found for ${name}`), { code: 'ENOTFOUND' });
}
