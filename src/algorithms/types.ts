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

/** Options passed through from `selectNode`, `acquire`, `lb.call`, ... to the algorithm. */
export interface SelectOptions {
  /** Routing key for key-aware algorithms (e.g. `HashRing`). */
  key?: string | number | Uint8Array;
  /** Anything else the caller passes reaches the algorithm unchanged. */
  [option: string]: unknown;
}

/** How a call through the balancer ended, reported to {@link SelectionAlgorithm.releaseNode}. */
export interface CallOutcome {
  /** `true` when the call succeeded. */
  ok: boolean;
  /** Wall time of the call in milliseconds. */
  latencyMs: number;
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
}

/** The class of a selection algorithm: what `startLoadBalancer({ selectionAlgorithm })` takes. */
export type SelectionAlgorithmClass<Options = Record<string, unknown>> = new (
  context: AlgorithmContext<Options>,
) => SelectionAlgorithm;
