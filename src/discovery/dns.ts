/**
 * DNS discovery, for Kubernetes headless services (whose name resolves to the address of every
 * ready pod) and anything else that publishes a node set as A/AAAA records: the name is
 * resolved periodically, new addresses are dialled and vanished ones forgotten, as libcluster's
 * DNS strategies do. With `srv`, each SRV record gives a target and its port (Consul, a
 * Kubernetes named port); with `servers`, DNS servers are asked directly (see dns-records.ts).
 */
import { lookup as systemLookup } from 'node:dns/promises';
import { formatAddress, parseAddress } from '../addresses.js';
import { describe, MAX_TIMEOUT_MS, optionError } from '../options.js';
import { type RecordSource, serverSource, srvAddresses, systemSource } from './dns-records.js';
import { messageOf } from './registry.js';
import type { Discovery, DiscoveryHost } from './types.js';

/** @default 5 000 ms, as libcluster polls. */
export const DEFAULT_DNS_INTERVAL_MS = 5_000;

/** One address a {@link DnsLookup} returns. */
export interface DnsAddress {
  readonly address: string;
  readonly family: number;
}

/**
 * Resolves a host name to all of its addresses: the signature of `lookup` from
 * `node:dns/promises` called with `{ all: true }`, so that function (the default) or a test
 * double fits.
 */
export type DnsLookup = (
  hostname: string,
  options: { all: true; family?: 0 | 4 | 6 },
) => Promise<readonly DnsAddress[]>;

/** Options of {@link dnsDiscovery}. */
export interface DnsDiscoveryOptions {
  /**
   * The name to resolve, e.g. a headless service `rpclb-workers.default.svc.cluster.local`
   * (every ready pod's address, unless the Service sets `publishNotReadyAddresses`).
   */
  name: string;
  /** The port nodes listen on (not with `srv`, whose records give it). @default this node's advertised port */
  port?: number;
  /**
   * `name` is an SRV name (`_rpclb._tcp.workers.ns.svc.cluster.local`, `workers.service.consul`):
   * each record gives a target host, resolved to its addresses, and the port on it.
   * @default false
   */
  srv?: boolean;
  /**
   * DNS servers to ask directly, instead of the system resolver: `'10.96.0.10'`,
   * `'127.0.0.1:8600'` (Consul's DNS interface), `'[::1]:53'`. Not with `lookup`.
   * @default the system resolver
   */
  servers?: readonly string[];
  /** How often the name is resolved, in ms. @default 5 000 */
  intervalMs?: number;
  /** Which records: `4` (A), `6` (AAAA) or `0` (both). @default 0 */
  family?: 0 | 4 | 6;
  /**
   * The resolver. The default goes through the system's resolver (`getaddrinfo`: `/etc/hosts`,
   * then DNS), as a connection would. @default `lookup` from `node:dns/promises`
   */
  lookup?: DnsLookup;
  /** Dial the nodes named in peers' peer lists too (see `Discovery.peerExchange`). @default true */
  peerExchange?: boolean;
}

/**
 * Discovery through DNS: resolves `name` at once and then every `intervalMs`; each answer is
 * the view (`address:port` for each record). A failed lookup (a timeout, a name with no
 * records) keeps the last view: connections are judged by heartbeats, and the re-dials of
 * addresses that are gone cost one refused dial per backoff step. Nothing is registered: the
 * platform publishes the records.
 *
 * @example
 * ```ts
 * const node = await startNode({
 *   host: '0.0.0.0', port: 4370, advertiseAddress: process.env.POD_IP,
 *   discovery: () => dnsDiscovery({ name: 'rpclb-workers.default.svc.cluster.local' }),
 * });
 * ```
 */
export function dnsDiscovery(options: DnsDiscoveryOptions): Discovery {
  const config = resolveDnsOptions(options);
  let poller: DnsPoller | undefined;
  return {
    kind: 'dns',
    peerExchange: config.peerExchange,
    start(host) {
      poller = new DnsPoller(config, host);
      return poller.start();
    },
    stop() {
      poller?.stop();
    },
  };
}

interface ResolvedDnsOptions {
  readonly name: string;
  readonly port: number | undefined;
  readonly srv: boolean;
  readonly intervalMs: number;
  readonly family: 0 | 4 | 6;
  readonly source: RecordSource;
  readonly peerExchange: boolean;
}

function resolveDnsOptions(options: DnsDiscoveryOptions): ResolvedDnsOptions {
  if (typeof options !== 'object' || options === null)
    throw optionError('dnsDiscovery', 'an object', options);
  const { name, port, intervalMs = DEFAULT_DNS_INTERVAL_MS, family = 0 } = options;
  if (typeof name !== 'string' || !/^[A-Za-z0-9._-]{1,253}$/.test(name))
    throw optionError('dnsDiscovery.name', 'a host name (letters, digits, ".-_")', name);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536))
    throw optionError('dnsDiscovery.port', 'an integer from 1 to 65535', port);
  if (!(Number.isInteger(intervalMs) && intervalMs >= 100 && intervalMs <= MAX_TIMEOUT_MS))
    throw optionError(
      'dnsDiscovery.intervalMs',
      `an integer from 100 to ${MAX_TIMEOUT_MS}`,
      intervalMs,
    );
  if (family !== 0 && family !== 4 && family !== 6)
    throw optionError('dnsDiscovery.family', '0, 4 or 6', family);
  const srv = options.srv ?? false;
  if (typeof srv !== 'boolean') throw optionError('dnsDiscovery.srv', 'a boolean', srv);
  if (srv && port !== undefined)
    throw new TypeError(
      'option "dnsDiscovery.port" does not go with "srv": the SRV records give the ports',
    );
  const peerExchange = options.peerExchange ?? true;
  if (typeof peerExchange !== 'boolean')
    throw optionError('dnsDiscovery.peerExchange', 'a boolean', peerExchange);
  const source = recordSource(options, intervalMs);
  return { name, port, srv, intervalMs, family, source, peerExchange };
}

/** The system resolver, the `lookup` given, or the `servers` given (not both). */
function recordSource(options: DnsDiscoveryOptions, intervalMs: number): RecordSource {
  const { lookup, servers } = options;
  if (servers === undefined) {
    if (lookup !== undefined && typeof lookup !== 'function')
      throw optionError('dnsDiscovery.lookup', 'a function like dns.promises.lookup', lookup);
    return systemSource(lookup ?? (systemLookup as DnsLookup));
  }
  if (lookup !== undefined)
    throw new TypeError(
      'options "dnsDiscovery.lookup" and "dnsDiscovery.servers" do not go together: give one',
    );
  const expected = 'DNS server addresses like "10.96.0.10" or "127.0.0.1:8600"';
  if (
    !Array.isArray(servers) ||
    servers.length === 0 ||
    !servers.every((s) => typeof s === 'string')
  )
    throw optionError('dnsDiscovery.servers', expected, servers);
  try {
    // A query gets at most a second (or the interval), tried twice, so a lookup ends before the next.
    return serverSource(servers, Math.min(1_000, Math.floor(intervalMs / 2)));
  } catch {
    throw optionError('dnsDiscovery.servers', expected, servers);
  }
}

/** One node's resolution loop. */
class DnsPoller {
  readonly #config: ResolvedDnsOptions;
  readonly #host: DiscoveryHost;
  readonly #port: number;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** The error of the current run of failed lookups, if failing (logged once per run). */
  #failing: string | undefined;
  #viewSize = 0;

  constructor(config: ResolvedDnsOptions, host: DiscoveryHost) {
    this.#config = config;
    this.#host = host;
    this.#port = config.port ?? parseAddress(host.address, 'address').port;
  }

  /** Resolves once (waiting at most one interval for it), then every interval. */
  async start(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const bounded = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#config.intervalMs);
    });
    await Promise.race([this.#resolve(), bounded]);
    clearTimeout(timer);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#config.source.cancel();
  }

  async #resolve(): Promise<void> {
    try {
      const addresses = new Set(await this.#answer());
      if (this.#stopped) return;
      this.#recovered(addresses.size);
      this.#viewSize = addresses.size;
      this.#host.update([...addresses].map((address) => ({ address })));
    } catch (err) {
      if (!this.#stopped) this.#failed(err);
    } finally {
      if (!this.#stopped) {
        clearTimeout(this.#timer);
        this.#timer = setTimeout(() => this.#resolve(), this.#config.intervalMs);
        this.#timer.unref();
      }
    }
  }

  /** The addresses (`host:port`) the name resolves to now. */
  async #answer(): Promise<string[]> {
    const { name, family, source, srv } = this.#config;
    if (srv) return srvAddresses(source, name, family);
    const records = await source.addresses(name, family);
    if (!Array.isArray(records)) throw new TypeError(`lookup returned ${describe(records)}`);
    return records.map((r: DnsAddress) => formatAddress(r.address, this.#port));
  }

  #failed(err: unknown): void {
    const code = (err as NodeJS.ErrnoException)?.code ?? messageOf(err);
    if (this.#failing === code) return;
    this.#failing = code;
    this.#host.logger.warn(
      `dns: cannot resolve ${this.#config.name} (${code}); keeping the last view (${this.#viewSize} addresses) and retrying every ${this.#config.intervalMs} ms`,
    );
  }

  #recovered(size: number): void {
    if (this.#failing === undefined) return;
    this.#failing = undefined;
    this.#host.logger.info(`dns: ${this.#config.name} resolves again (${size} addresses)`);
  }
}
