import { excludeOf, randomAllowed } from './exclude.js';
import type { AlgorithmContext, SelectionAlgorithm, SelectOptions } from './types.js';
import { requirePositiveInteger, requireRecord } from './validate.js';
import {
  EdfSchedule,
  MAX_SMOOTH_WORK,
  MAX_TABLE_LENGTH,
  RecordingSchedule,
  reduceWeights,
  type Schedule,
  smoothCycle,
  TableSchedule,
} from './wrr-schedule.js';

/** Options of {@link WeightedRoundRobin}. */
export interface WeightedRoundRobinOptions {
  /**
   * Weight by node name: a member with weight 3 gets three picks for every one of a member with
   * weight 1. Listed nodes that are not members are ignored until they join.
   * @default {} (every member weighs 1)
   */
  weights?: Record<string, number>;
}

/** Weight of a member not listed in {@link WeightedRoundRobinOptions.weights}. */
export const DEFAULT_WEIGHT = 1;
/** Upper bound of a weight, which keeps every schedule's arithmetic exact. */
export const MAX_WEIGHT = 2 ** 31 - 1;

/**
 * Round robin in proportion to per-node weights, with smooth interleaving.
 *
 * - **Exact proportions.** Over any `sum(weights)` consecutive picks (one cycle, with the
 *   weights divided by their common divisor) member `i` is picked exactly `weights[i]` times.
 * - **Smooth.** The cycle is nginx's smooth weighted round robin: `{a: 5, b: 1, c: 1}` gives
 *   `a a b a c a a`, not `a a a a a b c`. When members × weight sum exceeds 2^22, computing that
 *   would stall a membership change, so an earliest-deadline-first schedule, equally exact and
 *   nearly as smooth, is used instead (see `wrr-schedule.ts`).
 * - **Cheap picks.** The schedule is computed once per member list (cached by the array's
 *   identity) into a table read with a cursor: O(1) per pick. The EDF schedule records its first
 *   cycle as it runs (O(log n) per pick until then) and replays it; only a cycle over 2^20 picks
 *   keeps running the O(log n) heap.
 * - **Fair across rebuilds.** The first cycle starts at a random position (so a fleet of
 *   balancers does not hit the heaviest member in step); after a membership change the cursor
 *   keeps its relative position in the cycle instead of restarting it. (The EDF schedule starts a
 *   new cycle at a random rotation instead.)
 *
 * @example
 * ```ts
 * const lb = await node.startLoadBalancer({
 *   name: 'wrr',
 *   selectionAlgorithm: algorithms.WeightedRoundRobin,
 *   algorithmOpts: { weights: { 'big@10.0.0.1': 4, 'small@10.0.0.2': 1 } },
 * });
 * ```
 */
export class WeightedRoundRobin implements SelectionAlgorithm {
  /** Skips `opts.exclude` itself: the schedule passes over excluded members' turns. */
  readonly honoursExclude = true;
  readonly #random: () => number;
  readonly #weights = new Map<string, number>();
  #members: readonly string[] | undefined;
  #schedule: Schedule = new TableSchedule(new Uint32Array(1), 0);

  /**
   * @param ctx - the balancer's context; `ctx.options.weights` sets the weights, `ctx.random`
   *   the starting position.
   * @throws TypeError naming `weights` or `weights.<node>` when a weight is not a positive
   *   integer up to {@link MAX_WEIGHT}.
   */
  constructor(ctx: AlgorithmContext<WeightedRoundRobinOptions>) {
    this.#random = ctx.random;
    const weights = requireRecord('weights', ctx.options?.weights);
    if (weights !== undefined) {
      for (const [node, weight] of Object.entries(weights)) {
        this.#weights.set(node, requirePositiveInteger(`weights.${node}`, weight, MAX_WEIGHT));
      }
    }
  }

  /** Returns the member the schedule has next. */
  chooseFromNodes(nodes: readonly string[], opts?: SelectOptions): string {
    if (nodes !== this.#members) this.#rebuild(nodes);
    const exclude = excludeOf(opts);
    if (exclude === undefined) return nodes[this.#schedule.next()];
    // the turns of the members left keep their proportions; a schedule dominated by excluded
    // members gives up after a bounded walk and draws among the others
    for (let k = 0; k < nodes.length * 4 + 16; k++) {
      const node = nodes[this.#schedule.next()] as string;
      if (!exclude.includes(node)) return node;
    }
    return nodes[randomAllowed(nodes, exclude, this.#random)] as string;
  }

  /** The weight used for `node`. */
  weightOf(node: string): number {
    return this.#weights.get(node) ?? DEFAULT_WEIGHT;
  }

  #rebuild(nodes: readonly string[]): void {
    const n = nodes.length;
    const weights = new Float64Array(n);
    for (let i = 0; i < n; i++) weights[i] = this.weightOf(nodes[i]);
    const total = reduceWeights(weights);
    const previous = this.#members === undefined ? undefined : this.#schedule;
    this.#members = nodes;
    if (total <= MAX_TABLE_LENGTH && n * total <= MAX_SMOOTH_WORK) {
      // keep the relative position in the cycle; start anywhere the first time
      const cursor =
        previous instanceof TableSchedule
          ? Math.floor((previous.cursor * total) / previous.cycle.length)
          : Math.floor(this.#random() * total);
      this.#schedule = new TableSchedule(smoothCycle(weights, total), cursor);
      return;
    }
    // a random rotation of the deadline offsets stands in for a random start position
    const edf = new EdfSchedule(weights, total, Math.floor(this.#random() * n));
    this.#schedule = total <= MAX_TABLE_LENGTH ? new RecordingSchedule(edf, total) : edf;
  }
}
