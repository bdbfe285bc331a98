/**
 * The discovery seam: how a node learns which nodes exist and at which advertised address. A
 * backend (the configured seeds, DNS, etcd, Redis, or your own) reports its current view; the
 * node dials what it reports and stops re-dialling what vanished. Liveness is never judged
 * here: connections live and die by their direct heartbeats, so a backend that fails keeps its
 * last view and never drops a healthy cluster.
 */
import type { Logger } from '../logger.js';

/** A node as a discovery backend reports it. */
export interface DiscoveredNode {
  /** Where to dial it: its advertised `host:port` (`[v6]:port` for IPv6). */
  readonly address: string;
  /**
   * Its node name, when the backend knows it (etcd and Redis do, DNS does not). Lets a call
   * to that name wait while the address is being dialled.
   */
  readonly name?: string;
}

/** What the node gives a discovery backend when it starts it. */
export interface DiscoveryHost {
  /** This node's name (what a registering backend registers it as). */
  readonly name: string;
  /** This node's advertised `host:port` (what a registering backend registers). */
  readonly address: string;
  /**
   * This node's `heartbeatTimeoutMs`: a registration that expires (an etcd lease, a Redis
   * TTL) should live about this long, so a crashed node vanishes from the backend about when
   * its peers declare it down.
   */
  readonly heartbeatTimeoutMs: number;
  /** The node's logger, for the backend's own lines (outages, recoveries). */
  readonly logger: Logger;
  /**
   * Reports the backend's whole current view, replacing the one before: addresses new to it
   * are dialled (and re-dialled whenever their node is lost, while they stay reported);
   * addresses no longer in it are no longer re-dialled. Connections are not closed either way.
   * This node's own entry may be included; it is ignored. Entries that are not well formed are
   * left out with a warning. Call it only with a view the backend actually read: on an outage,
   * report nothing, so the last view stays.
   */
  update(nodes: Iterable<DiscoveredNode>): void;
}

/**
 * A discovery backend: tells the node which nodes exist. Built-ins: the `seeds` option (the
 * default), `dnsDiscovery()`, `rpc-load-balancer/discovery/etcd` and
 * `rpc-load-balancer/discovery/redis`. One instance serves one node; give a
 * {@link DiscoveryFactory} to share a configuration between nodes.
 *
 * @example
 * ```ts
 * // A fixed list, as the `seeds` option does:
 * const fixed: Discovery = {
 *   kind: 'fixed',
 *   start(host) { host.update([{ address: '10.0.0.5:4370' }, { address: '10.0.0.6:4370' }]); },
 *   stop() {},
 * };
 * ```
 */
export interface Discovery {
  /** A short name for log lines (`'seeds'`, `'dns'`, `'etcd'`, `'redis'`). @default 'discovery' */
  readonly kind?: string;
  /**
   * Whether the node also dials the nodes named in its peers' peer lists (and keeps them
   * re-dialled for a while when they fail), as it does with seeds. Turn it off to connect only
   * to what the backend reports. @default true
   */
  readonly peerExchange?: boolean;
  /**
   * Starts watching (or polling) the backend and, for backends that register nodes, registers
   * this one. Called once, after the node listens, so `host.address` is known. A rejection
   * fails `startNode` (use it for configuration errors, such as a missing client package); a
   * backend that cannot be reached yet should resolve and keep trying.
   */
  start(host: DiscoveryHost): void | Promise<void>;
  /**
   * Deregisters this node where the backend allows, stops timers and closes clients. Called
   * once when the node closes; the node waits for it within its close budget.
   */
  stop(): void | Promise<void>;
}

/** Makes a fresh {@link Discovery} for one node, so one configuration can serve several nodes. */
export type DiscoveryFactory = () => Discovery;
