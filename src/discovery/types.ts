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
  /**
   * The groups the node is in, with its join counts (`{ work: 1 }`), for backends that carry
   * them (etcd and Redis do). A node started with `connections: 'on-demand'` takes the group
   * memberships of nodes it is not connected to from here; it ignores them for nodes it is
   * connected to, which tell it their groups directly. The node checks them: a pair that is not
   * a non-empty name and a positive safe integer is dropped (the entry stays).
   */
  readonly groups?: Readonly<Record<string, number>>;
  /**
   * Which run of the node registered the entry (a restarted node has a new one). Lets an
   * on-demand node tell a stale entry of a node it saw die from the entry of its restart. A
   * non-empty string of at most 64 characters; anything else is dropped (the entry stays).
   */
  readonly incarnation?: string;
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
  /** This run of the node (random, new at every start): register it with the groups. */
  readonly incarnation: string;
  /**
   * This node's groups right now, with its join counts: what a backend that carries groups
   * registers. Read it again when {@link Discovery.groupsChanged} is called.
   */
  groups(): Readonly<Record<string, number>>;
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
   * Whether the backend registers this node's groups ({@link DiscoveryHost.groups}) and reports
   * every node's `groups` and `incarnation`. Required by `connections: 'on-demand'`, where a
   * node learns the groups of nodes it is not connected to from the backend. @default false
   */
  readonly carriesGroups?: boolean;
  /**
   * Called when this node's groups changed (a join or leave; bursts are coalesced into one
   * call). A backend that carries groups registers {@link DiscoveryHost.groups} again; the
   * latest state must win when registrations overlap. Not called before `start` or after `stop`.
   */
  groupsChanged?(): void;
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
