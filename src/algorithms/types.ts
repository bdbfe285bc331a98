/**
 * The contract between a load balancer and its selection algorithm.
 *
 * An algorithm is a class. The balancer constructs one instance per balancer and calls it on
 * every selection. Algorithms are pure: no sockets, no timers, no global state; randomness and
 * time come from the injected {@link AlgorithmContext.random} and {@link AlgorithmContext.now}.
 *
 * `nodes` is always the balancer's current member list: a frozen array of node names, sorted,
 * non-empty, and the *same array object* until membership changes, so an algorithm may cache
 * what it derives from it (a ring, a schedule) keyed by identity.
 */
import type { RpcErrorCode } from '../errors.js';

/** Options passed through from `selectNode`, `acquire`, `lb.call`, ... to the algorithm. */
export interface SelectOptions {
  /** Routing key for key-aware algorithms (e.g. `HashRing`). */
  key?: string | number | Uint8Array;
  /**
   * Nodes this selection must not return (e.g. one that just refused the call). Every built-in
   * algorithm skips them itself ({@link SelectionAlgorithm.honoursExclude}), keeping its state
   * for them (`HashRing` moves the key to its next replica). For an algorithm that does not,
   * the balancer sets aside its picks of excluded nodes and asks again. When it leaves no
   * member, the selection fails with `service_unavailable` (`details.reason: 'all_excluded'`).
   */
  exclude?: readonly string[];
  /** Anything else the caller passes reaches the algorithm unchanged. */
  [option: string]: unknown;
}

/**
 * A server's load as it reported it: in a reply (at most once per sample period per
 * connection) or in answer to a probe.
 */
export interface ServerLoad {
  /** Calls the server was serving. */
  readonly inFlight: number;
  /** The server's event-loop utilisation over its last sample period (100 ms), 0..1. */
  readonly elu: number;
  /** When the caller received it, on the balancer's clock (`now()`, ms). */
  readonly at: number;
}

/** How a call through the balancer ended, reported to {@link SelectionAlgorithm.releaseNode}. */
export interface CallOutcome {
  /** `true` when the call succeeded. */
  ok: boolean;
  /** Wall time of the call in milliseconds. */
  latencyMs: number;
  /**
   * For a failed call, its error code: `service_unavailable` and `request_timeout` say the node
   * may be unhealthy; `bad_request`, `not_found` and `internal_server_error` (the handler's own
   * exception) say nothing about the node. Absent when the call succeeded, or was aborted.
   */
  code?: RpcErrorCode;
  /** The server's load, when its reply carried it (see {@link ServerLoad}). */
  load?: ServerLoad;
  /**
   * When the call ended, on the balancer's clock (`ctx.now()`), when the balancer read it
   * anyway: an algorithm that needs the time of the outcome can use it instead of reading the
   * clock again. Absent on a manual `releaseNode(node, outcome)`.
   */
  at?: number;
}

/** A membership change, as reported to {@link SelectionAlgorithm.onNodeChange}. */
export interface NodeChange {
  /** Whether the listed nodes joined or left. */
  type: 'join' | 'leave';
  /** The nodes that joined or left. */
  nodes: readonly string[];
  /** The full member list after the change (sorted, frozen). */
  members: readonly string[];
}

/** What the balancer hands an algorithm's constructor. */
export interface AlgorithmContext<Options = Record<string, unknown>> {
  /** The name of the balancer this instance serves. */
  balancerName: string;
  /** The balancer's `algorithmOpts`, unchanged. */
  options: Options;
  /** Uniform random number in [0, 1). Defaults to `Math.random`; inject a seeded one for exact tests. */
  random: () => number;
  /** Milliseconds clock. Defaults to `performance.now`; inject a fake one for exact tests. */
  now: () => number;
  /**
   * Asks `node` for its current load with a tiny message answered by the node's RPC layer (no
   * user handler); the answer arrives later through {@link SelectionAlgorithm.onProbeResult}.
   * Fire and forget: a probe that fails or times out is simply never answered. Absent where
   * probing is impossible (e.g. `CallDirect`).
   */
  probe?: (node: string) => void;
}

/**
 * A selection algorithm. Implement `chooseFromNodes`; the other methods are optional.
 *
 * @example
 * ```ts
 * class FirstNode implements SelectionAlgorithm {
 *   chooseFromNodes(nodes: readonly string[]) { return nodes[0]; }
 * }
 * await node.startLoadBalancer({ name: 'first', selectionAlgorithm: FirstNode });
 * ```
 */
export interface SelectionAlgorithm {
  /**
   * `true` when `chooseFromNodes` (and `chooseNodes`, if defined) skip the nodes in
   * `opts.exclude` themselves; they are still given the whole member list, so per-member state
   * is kept. Otherwise the balancer hands `chooseFromNodes` the whole list as usual, releases
   * (without an outcome) any pick of an excluded node once a good one comes, and after a few
   * tries draws one of the other members at random, outside the algorithm; `chooseNodes` then
   * gets the members without the excluded ones.
   * @default false
   */
  readonly honoursExclude?: boolean;
  /** Picks one node from `nodes` (non-empty, sorted, frozen). Must return a member of `nodes`. */
  chooseFromNodes(nodes: readonly string[], opts: SelectOptions): string;
  /**
   * Picks up to `count` distinct nodes from `nodes`. Without it, the balancer returns distinct
   * members in random order.
   */
  chooseNodes?(nodes: readonly string[], count: number, opts: SelectOptions): string[];
  /** Told of every membership change of the balancer's group. */
  onNodeChange?(change: NodeChange): void;
  /**
   * Told when a selection of `node` ends. `outcome` is set when the balancer itself made the
   * call (`lb.call`); a manual `lb.releaseNode(node)` omits it.
   */
  releaseNode?(node: string, outcome?: CallOutcome): void;
  /** Told the answer to a probe sent with {@link AlgorithmContext.probe}. */
  onProbeResult?(node: string, load: ServerLoad): void;
  /**
   * Probe before pick: the members whose load the algorithm wants to hear before its next pick.
   * A balancer that can wait (`lb.call`, `lb.cast`) probes them, waits for the answers (each
   * reported to {@link SelectionAlgorithm.onProbeResult}) or a short timeout, then calls
   * {@link SelectionAlgorithm.chooseFromNodes}. An empty array means "pick now". A balancer that
   * cannot wait (`selectNode`) never calls it, and `chooseFromNodes` must still work alone.
   */
  probeTargets?(nodes: readonly string[], opts: SelectOptions): readonly string[];
}

/**
 * The class of a selection algorithm: what `startLoadBalancer({ selectionAlgorithm })` takes.
 * `Instance` is what it constructs, which `lb.algorithm` is typed as (so a `LeastConnections`
 * balancer's `lb.algorithm.snapshot()` type-checks).
 */
export type SelectionAlgorithmClass<
  Options = Record<string, unknown>,
  Instance extends SelectionAlgorithm = SelectionAlgorithm,
> = new (context: AlgorithmContext<Options>) => Instance;
