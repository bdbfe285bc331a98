/**
 * Which address a node gives out (its HELLO, the peer lists of its peers); the rule, as
 * documented with `advertiseAddress` in docs/reference/api.md:
 *
 * 1. `advertiseAddress`, when given (its port defaults to the one bound);
 * 2. else the listen host, when it is a specific address;
 * 3. else (a wildcard listen host) the host part of the node's name, when it resolves only to
 *    addresses other machines could reach (not loopback, not a wildcard); the name's host is
 *    advertised as written, so peers resolve a DNS name themselves and TLS can check it.
 *
 * Otherwise the node refuses to start: advertising a wildcard or a loopback address that it
 * merely listens on would give peers on other machines an address that leads nowhere.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { isLoopbackAddress, isWildcardHost } from '../addresses.js';

/** Resolves a host name to its addresses (injectable for tests). */
export type HostLookup = (host: string) => Promise<string[]>;

/** The system resolver (`/etc/hosts`, DNS), as `net.connect` would use it. */
export const systemLookup: HostLookup = async (host) =>
  (await lookup(host, { all: true })).map((entry) => entry.address);

/** The part of the options the rule reads. */
export interface AdvertiseInput {
  readonly name: string;
  readonly host: string;
  readonly advertiseAddress:
    | { readonly host: string; readonly port: number | undefined }
    | undefined;
}

/**
 * The host (and port, when fixed by `advertiseAddress`) to advertise. Throws a `TypeError`
 * naming `advertiseAddress` when none can be derived.
 */
export async function advertisedHost(
  options: AdvertiseInput,
  resolve: HostLookup = systemLookup,
): Promise<{ host: string; port: number | undefined }> {
  if (options.advertiseAddress) return options.advertiseAddress;
  if (!isWildcardHost(options.host)) return { host: options.host, port: undefined };
  const nameHost = options.name.slice(options.name.indexOf('@') + 1).replace(/^\[(.*)\]$/, '$1');
  let addresses: string[];
  try {
    addresses = isIP(nameHost) ? [nameHost] : await resolve(nameHost);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw wildcardError(options, `does not resolve (${code})`);
  }
  const unusable = addresses.filter((a) => isWildcardHost(a) || isLoopbackAddress(a));
  if (addresses.length === 0 || unusable.length > 0) {
    const what = isIP(nameHost) ? 'is' : `resolves to ${addresses.join(', ') || 'nothing'},`;
    throw wildcardError(
      options,
      `${what} a loopback or wildcard address that other machines cannot reach`,
    );
  }
  return { host: nameHost, port: undefined };
}

function wildcardError(options: AdvertiseInput, problem: string): TypeError {
  return new TypeError(
    `option "advertiseAddress" is needed: the node listens on the wildcard host ` +
      `"${options.host}", and the host part of its name "${options.name}" ${problem}. ` +
      `Give advertiseAddress (the address peers dial, e.g. ` +
      `"10.0.0.5" or "worker1.internal:4370"), or a name whose host resolves to such an address.`,
  );
}
