/**
 * `node.inspect()`: a plain, serialisable snapshot of what a node knows (peers, groups,
 * balancers, calls in flight), cheap enough to take every second; and the `$rpclb` system
 * module through which an authenticated peer may fetch it, so one node can show the whole
 * cluster (`node.inspectCluster()`). The system module offers the snapshot and nothing else:
 * no user function, no option, nothing `inspect()` does not show.
 */
import type { BalancerSnapshot, LoadSnapshot } from './balancer/member-stats.js';
import { RpcError, type RpcErrorCode } from './errors.js';
import { describe, MAX_TIMEOUT_MS } from './options.js';
import type { ServerLoad } from './rpc/load.js';

export type {
  BalancerSnapshot,
  LatencySnapshot,
  LoadSnapshot,
  MemberSnapshot,
} from './balancer/member-stats.js';

/** The system module every node exposes (module names starting with `$` are reserved). */
export const SYSTEM_MODULE = '$rpclb';

/** A connected peer, as `node.inspect()` shows it. */
export interface PeerSnapshot {
  /** The peer's node name. */
  readonly name: string;
  /** `up`, or `leaving` while a goodbye is under way. */
  readonly state: 'up' | 'leaving';
  /** The address the peer advertises (`host:port`). */
  readonly address: string;
  /** The protocol version the connection speaks. */
  readonly protocol: number;
  /**
   * Round trip of the last load probe answered by the peer, in ms. Absent when none was sent
   * (heartbeats are one-way, so they measure no round trip).
   */
  readonly rttMs?: number;
  /** The last load the peer reported (in a reply or a probe answer). */
  readonly load?: LoadSnapshot;
}

/** A process group, as this node sees it. */
export interface GroupSnapshot {
  readonly name: string;
  /** Distinct member node names, sorted. */
  readonly members: readonly string[];
  /** How many times this node joined it (0: not a member). */
  readonly localJoins: number;
}

/** The process a node runs in. */
export interface RuntimeSnapshot {
  /** Its process id. */
  readonly pid: number;
  /** The Node.js release it runs on (`process.version`, e.g. `v20.20.2`). */
  readonly nodeVersion: string;
  /** How long the process has been running, in ms (`process.uptime()`). */
  readonly uptimeMs: number;
}

/** What `node.inspect()` returns: plain data (JSON and the call codec carry it unchanged). */
export interface NodeSnapshot {
  /** The node's name. */
  readonly node: string;
  /** The address it advertises to peers. */
  readonly address: string;
  /** When the snapshot was taken (`Date.now()`). */
  readonly at: number;
  /** Connected peers, sorted by name. */
  readonly peers: readonly PeerSnapshot[];
  /** Process groups with at least one member, sorted by name. */
  readonly groups: readonly GroupSnapshot[];
  /** Running load balancers, sorted by name. */
  readonly balancers: readonly BalancerSnapshot[];
  /** Serving side: calls being served, and the load this node reports to peers. */
  readonly server: { readonly inFlight: number; readonly elu: number };
  /** Calling side: calls waiting for a reply. */
  readonly client: { readonly pending: number };
  /** The process it runs in. Absent in snapshots from releases before it was added. */
  readonly runtime?: RuntimeSnapshot;
}

/** A node that `inspectCluster()` could not read. */
export interface UnreachableNode {
  readonly node: string;
  /** The `RpcError` code (`not_found`: the peer runs a release without `$rpclb`). */
  readonly code: RpcErrorCode | 'error';
  readonly message: string;
}

/** What `node.inspectCluster()` returns. */
export interface ClusterSnapshot {
  /** The node that gathered it. */
  readonly node: string;
  /** When it was gathered (`Date.now()`). */
  readonly at: number;
  /** This node's snapshot first, then each peer's that answered, sorted by name. */
  readonly nodes: readonly NodeSnapshot[];
  /** Peers that did not answer in time or refused. */
  readonly unreachable: readonly UnreachableNode[];
}

/** Options of `inspectPeer()` and `inspectCluster()`. */
export interface InspectOptions {
  /** How long to wait for each peer, in ms. @default 2000 */
  timeout?: number;
}

/** @internal A connected peer, as the node hands it to the snapshot. */
export interface PeerView {
  readonly name: string;
  readonly ready: boolean;
  readonly address: string;
  readonly protocol: number;
  readonly rttMs: number | undefined;
  readonly load: ServerLoad | undefined;
}

/** @internal What a snapshot is built from (the node provides it; nothing here reaches into it). */
export interface InspectHost {
  readonly name: string;
  address(): string;
  peers(): Iterable<PeerView>;
  groups(): readonly string[];
  members(group: string): readonly string[];
  localJoins(group: string): number;
  balancers(): Iterable<{ inspect(): BalancerSnapshot }>;
  server(): { readonly inFlight: number; readonly elu: number };
  pendingCalls(): number;
  /** `node.call` of the system module. */
  call(target: string, fn: string, timeout: number): Promise<unknown>;
}

const DEFAULT_INSPECT_TIMEOUT_MS = 2_000;
const byName = (a: { name: string }, b: { name: string }) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/** @internal `node.inspect()`. */
export function inspectNode(host: InspectHost): NodeSnapshot {
  const now = performance.now();
  const peers: PeerSnapshot[] = [];
  for (const peer of host.peers()) peers.push(peerSnapshot(peer, now));
  const groups: GroupSnapshot[] = [];
  for (const name of host.groups()) {
    const members = host.members(name);
    if (members.length > 0) {
      groups.push({ name, members: [...members], localJoins: host.localJoins(name) });
    }
  }
  const balancers: BalancerSnapshot[] = [];
  for (const lb of host.balancers()) balancers.push(lb.inspect());
  const server = host.server();
  return {
    node: host.name,
    address: host.address(),
    at: Date.now(),
    peers: peers.sort(byName),
    groups: groups.sort(byName),
    balancers: balancers.sort(byName),
    server: { inFlight: server.inFlight, elu: server.elu },
    client: { pending: host.pendingCalls() },
    runtime: {
      pid: process.pid,
      nodeVersion: process.version,
      uptimeMs: Math.round(process.uptime() * 1000),
    },
  };
}

function peerSnapshot(peer: PeerView, now: number): PeerSnapshot {
  const snapshot: { -readonly [K in keyof PeerSnapshot]: PeerSnapshot[K] } = {
    name: peer.name,
    state: peer.ready ? 'up' : 'leaving',
    address: peer.address,
    protocol: peer.protocol,
  };
  if (peer.rttMs !== undefined) snapshot.rttMs = Math.round(peer.rttMs * 1000) / 1000;
  const load = peer.load;
  if (load !== undefined) {
    snapshot.load = {
      inFlight: load.inFlight,
      elu: load.elu,
      ageMs: Math.max(0, Math.round(now - load.at)),
    };
  }
  return snapshot;
}

/** @internal The `$rpclb` module's functions. */
export function systemModule(host: InspectHost): Record<string, () => unknown> {
  return { inspect: () => inspectNode(host) };
}

/** @internal `node.inspectPeer(name)`: the peer's own snapshot, through `$rpclb`. */
export async function inspectPeer(
  host: InspectHost,
  peer: string,
  options: InspectOptions | undefined,
): Promise<NodeSnapshot> {
  const timeout = inspectTimeout(options);
  if (peer === host.name) return inspectNode(host);
  const snapshot = await host.call(peer, 'inspect', timeout);
  if (!isSnapshot(snapshot)) {
    throw new RpcError(
      'internal_server_error',
      `node ${peer} answered $rpclb.inspect with something that is not a snapshot: ${describe(snapshot)}`,
      { details: { node: peer, module: SYSTEM_MODULE, function: 'inspect' } },
    );
  }
  return snapshot;
}

/** @internal `node.inspectCluster()`: this node's snapshot and every connected peer's, in parallel. */
export async function inspectCluster(
  host: InspectHost,
  options: InspectOptions | undefined,
): Promise<ClusterSnapshot> {
  inspectTimeout(options);
  const self = inspectNode(host);
  const names = self.peers.map((p) => p.name);
  const results = await Promise.allSettled(names.map((n) => inspectPeer(host, n, options)));
  const nodes: NodeSnapshot[] = [self];
  const unreachable: UnreachableNode[] = [];
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') nodes.push(result.value);
    else {
      const err = result.reason as { code?: RpcErrorCode; message?: string };
      unreachable.push({
        node: names[i] as string,
        code: err instanceof RpcError ? err.code : 'error',
        message: String(err?.message ?? err),
      });
    }
  });
  return { node: host.name, at: Date.now(), nodes, unreachable };
}

function inspectTimeout(options: InspectOptions | undefined): number {
  const timeout = options?.timeout ?? DEFAULT_INSPECT_TIMEOUT_MS;
  if (typeof timeout !== 'number' || !(timeout > 0) || timeout > MAX_TIMEOUT_MS) {
    throw new RpcError(
      'bad_request',
      `timeout must be a number of ms from 1 to ${MAX_TIMEOUT_MS}, received ${describe(timeout)}`,
      { details: { field: 'timeout' }, notExecuted: true },
    );
  }
  return timeout;
}

function isSnapshot(value: unknown): value is NodeSnapshot {
  const v = value as Partial<NodeSnapshot> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.node === 'string' &&
    Array.isArray(v.peers) &&
    Array.isArray(v.groups) &&
    Array.isArray(v.balancers)
  );
}
