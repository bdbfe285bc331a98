/**
 * What the dashboard page shows, made from cluster snapshots: the graph (nodes and links), each
 * node's facts, and each balancer's members with rates. Pure (no I/O, no clock): a snapshot in,
 * a view out, so every figure the page shows is tested without a browser. Rates (calls/s, error
 * rate) are the difference between a member's counters in two consecutive snapshots taken by
 * the node that owns the balancer, divided by the time between that node's two readings.
 */
import type {
  BalancerSnapshot,
  ClusterSnapshot,
  MemberSnapshot,
  NodeSnapshot,
  RuntimeSnapshot,
} from '../inspect.js';

/**
 * A node in the graph. `up`: it answered; `unreachable`: connected to the observer but its
 * snapshot did not come (frozen, overloaded); `remote`: only other nodes report a connection to it.
 */
export type ViewNodeState = 'up' | 'unreachable' | 'remote';

/** One node of the cluster, as the page shows it. */
export interface ViewNode {
  readonly name: string;
  readonly state: ViewNodeState;
  /** `true` for the node the dashboard runs on. */
  readonly observer: boolean;
  readonly address?: string;
  /** Groups this node joined, sorted. */
  readonly groups: readonly string[];
  /** Event-loop utilisation it reports, 0 to 1. */
  readonly elu?: number;
  /** Calls it is serving. */
  readonly serving?: number;
  /** Calls it is waiting on. */
  readonly pending?: number;
  readonly runtime?: RuntimeSnapshot;
  /** Why its snapshot is missing (`unreachable` only). */
  readonly error?: string;
}

/**
 * A connection between two nodes (names sorted: `a < b`). `up`: both ends report it;
 * `one-way`: one end reports it, the other answered without it; `leaving`: a goodbye is under
 * way; `unknown`: only one end could be asked.
 */
export interface ViewLink {
  readonly a: string;
  readonly b: string;
  readonly state: 'up' | 'one-way' | 'leaving' | 'unknown';
  /** Round trip of the last load probe, in ms, where either end measured one. */
  readonly rttMs?: number;
}

/** One member of a balancer, with rates over the last interval. */
export interface ViewMember {
  readonly node: string;
  readonly inFlight: number;
  readonly calls: number;
  readonly errors: number;
  /** Calls released per second since the previous snapshot (0 on the first). */
  readonly callsPerS: number;
  /** Failed share of the calls released since the previous snapshot; `null` when none were. */
  readonly errorRate: number | null;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  /** The load the member last reported: calls it was serving and its event-loop utilisation. */
  readonly load?: { readonly inFlight: number; readonly elu: number };
  readonly ejected: boolean;
}

/** One running balancer, on the node that runs it. */
export interface ViewBalancer {
  /** The node running it. */
  readonly node: string;
  readonly name: string;
  readonly algorithm: string;
  readonly inFlight: number;
  readonly members: readonly ViewMember[];
}

/** A node event the observer saw (`nodeup` / `nodedown`). */
export interface ViewEvent {
  readonly at: number;
  readonly text: string;
}

/** The whole message the page receives, about once a second. */
export interface DashboardView {
  /** The node the dashboard runs on. */
  readonly observer: string;
  readonly at: number;
  readonly nodes: readonly ViewNode[];
  readonly links: readonly ViewLink[];
  /** Balancers that made calls, and every balancer of the observer. */
  readonly balancers: readonly ViewBalancer[];
  /** Balancers that never made a call, as `node / name (algorithm)` (shown in one line). */
  readonly idle: readonly string[];
  /** The latest node events, newest first. */
  readonly events: readonly ViewEvent[];
}

interface Counters {
  readonly at: number;
  readonly calls: number;
  readonly errors: number;
}

/** Builds views from successive cluster snapshots, keeping what the rates need. */
export class ViewBuilder {
  /** Counters per `node \0 balancer \0 member` at the previous snapshot. */
  #previous = new Map<string, Counters>();

  /** The view of `cluster`, with rates against the previous call's snapshot. */
  build(cluster: ClusterSnapshot, events: readonly ViewEvent[]): DashboardView {
    const next = new Map<string, Counters>();
    const balancers: ViewBalancer[] = [];
    const idle: string[] = [];
    for (const snapshot of cluster.nodes) {
      for (const lb of snapshot.balancers) {
        const view = this.#balancer(snapshot, lb, next);
        if (snapshot.node === cluster.node || isActive(lb)) balancers.push(view);
        else idle.push(`${snapshot.node} / ${lb.name} (${lb.algorithm})`);
      }
    }
    this.#previous = next;
    return {
      observer: cluster.node,
      at: cluster.at,
      nodes: viewNodes(cluster),
      links: viewLinks(cluster),
      balancers,
      idle,
      events,
    };
  }

  #balancer(owner: NodeSnapshot, lb: BalancerSnapshot, next: Map<string, Counters>) {
    const ejected = new Set(lb.ejected);
    const members = lb.members.map((m) => {
      const key = `${owner.node}\0${lb.name}\0${m.node}`;
      const now = { at: owner.at, calls: m.calls, errors: m.errors };
      next.set(key, now);
      return viewMember(m, this.#previous.get(key), now, ejected.has(m.node));
    });
    return {
      node: owner.node,
      name: lb.name,
      algorithm: lb.algorithm,
      inFlight: lb.inFlight,
      members,
    };
  }
}

const isActive = (lb: BalancerSnapshot) =>
  lb.inFlight > 0 || lb.members.some((m) => m.calls > 0 || m.inFlight > 0);

function viewMember(
  m: MemberSnapshot,
  before: Counters | undefined,
  now: Counters,
  ejected: boolean,
): ViewMember {
  let callsPerS = 0;
  let errorRate: number | null = null;
  // Counters restart when a member leaves and joins again: then there is no interval to measure.
  if (before && now.calls >= before.calls && now.errors >= before.errors && now.at > before.at) {
    const calls = now.calls - before.calls;
    callsPerS = (calls * 1000) / (now.at - before.at);
    if (calls > 0) errorRate = (now.errors - before.errors) / calls;
  }
  return {
    node: m.node,
    inFlight: m.inFlight,
    calls: m.calls,
    errors: m.errors,
    callsPerS: Math.round(callsPerS * 10) / 10,
    errorRate,
    ...(m.latencyMs ? { p50Ms: m.latencyMs.p50, p99Ms: m.latencyMs.p99 } : {}),
    ...(m.load ? { load: { inFlight: m.load.inFlight, elu: m.load.elu } } : {}),
    ejected,
  };
}

function viewNodes(cluster: ClusterSnapshot): ViewNode[] {
  const nodes = new Map<string, ViewNode>();
  for (const s of cluster.nodes) {
    nodes.set(s.node, {
      name: s.node,
      state: 'up',
      observer: s.node === cluster.node,
      address: s.address,
      groups: s.groups.filter((g) => g.localJoins > 0).map((g) => g.name),
      elu: s.server.elu,
      serving: s.server.inFlight,
      pending: s.client.pending,
      ...(s.runtime ? { runtime: s.runtime } : {}),
    });
  }
  for (const u of cluster.unreachable) {
    nodes.set(u.node, {
      name: u.node,
      state: 'unreachable',
      observer: false,
      groups: [],
      error: `${u.code}: ${u.message}`,
    });
  }
  for (const s of cluster.nodes) {
    for (const p of s.peers) {
      if (!nodes.has(p.name)) {
        nodes.set(p.name, {
          name: p.name,
          state: 'remote',
          observer: false,
          address: p.address,
          groups: [],
        });
      }
    }
  }
  return [...nodes.values()].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
}

function viewLinks(cluster: ClusterSnapshot): ViewLink[] {
  const answered = new Set(cluster.nodes.map((s) => s.node));
  const links = new Map<
    string,
    { a: string; b: string; ends: number; leaving: boolean; rtt?: number }
  >();
  for (const s of cluster.nodes) {
    for (const p of s.peers) {
      const [a, b] = s.node < p.name ? [s.node, p.name] : [p.name, s.node];
      const key = `${a}\0${b}`;
      const link = links.get(key) ?? { a, b, ends: 0, leaving: false };
      link.ends++;
      link.leaving ||= p.state === 'leaving';
      if (p.rttMs !== undefined) link.rtt = Math.min(link.rtt ?? p.rttMs, p.rttMs);
      links.set(key, link);
    }
  }
  return [...links.values()]
    .map((l) => {
      const bothAnswered = answered.has(l.a) && answered.has(l.b);
      const state = l.leaving
        ? 'leaving'
        : l.ends === 2
          ? 'up'
          : bothAnswered
            ? 'one-way'
            : 'unknown';
      return { a: l.a, b: l.b, state, ...(l.rtt !== undefined ? { rttMs: l.rtt } : {}) } as const;
    })
    .sort((x, y) => (`${x.a}\0${x.b}` < `${y.a}\0${y.b}` ? -1 : 1));
}
