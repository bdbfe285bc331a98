/**
 * The options of `etcdDiscovery` (`rpc-load-balancer/discovery/etcd`), their defaults and their
 * check, and the lease TTL a heartbeat timeout gives.
 */
import type { IOptions } from 'etcd3';
import { optionError } from '../options.js';

/** @default 'rpclb/nodes/' */
export const DEFAULT_ETCD_PREFIX = 'rpclb/nodes/';

/** Options of `etcdDiscovery`. */
export interface EtcdDiscoveryOptions {
  /** The etcd endpoints, with their scheme: `'http://127.0.0.1:2379'` or several. */
  hosts: string | string[];
  /**
   * The key prefix under which the nodes of one cluster register (one prefix per cluster).
   * @default 'rpclb/nodes/'
   */
  prefix?: string;
  /**
   * Further options of the `etcd3` client (`auth`, `credentials`, `dialTimeout`,
   * `faultHandling`...). Unary calls get a deadline of twice the lease TTL unless
   * `defaultCallOptions` is given.
   */
  client?: Omit<IOptions, 'hosts'>;
  /** Dial the nodes named in peers' peer lists too (see `Discovery.peerExchange`). @default true */
  peerExchange?: boolean;
}

/**
 * The lease TTL for a heartbeat timeout: whole seconds (etcd's granularity), rounded up, at
 * least 1. etcd raises a TTL below its own minimum (1.5 × its election timeout, 2 s with the
 * defaults) to that minimum.
 */
export function leaseTtlSeconds(heartbeatTimeoutMs: number): number {
  return Math.max(1, Math.ceil(heartbeatTimeoutMs / 1_000));
}

export interface ResolvedEtcdOptions {
  readonly hosts: string[];
  readonly prefix: string;
  readonly client: Omit<IOptions, 'hosts'>;
  readonly peerExchange: boolean;
}

export function resolveEtcdOptions(options: EtcdDiscoveryOptions): ResolvedEtcdOptions {
  if (typeof options !== 'object' || options === null)
    throw optionError('etcdDiscovery', 'an object', options);
  const hosts = typeof options.hosts === 'string' ? [options.hosts] : options.hosts;
  if (
    !Array.isArray(hosts) ||
    hosts.length === 0 ||
    !hosts.every((h) => typeof h === 'string' && /^https?:\/\/./.test(h))
  ) {
    throw optionError('etcdDiscovery.hosts', 'URLs like "http://127.0.0.1:2379"', options.hosts);
  }
  const prefix = options.prefix ?? DEFAULT_ETCD_PREFIX;
  if (typeof prefix !== 'string' || prefix.length === 0)
    throw optionError('etcdDiscovery.prefix', 'a non-empty string', prefix);
  const client = options.client ?? {};
  if (typeof client !== 'object' || client === null)
    throw optionError('etcdDiscovery.client', 'etcd3 client options', client);
  const peerExchange = options.peerExchange ?? true;
  if (typeof peerExchange !== 'boolean')
    throw optionError('etcdDiscovery.peerExchange', 'a boolean', peerExchange);
  return Object.freeze({ hosts: [...hosts], prefix, client: { ...client }, peerExchange });
}
