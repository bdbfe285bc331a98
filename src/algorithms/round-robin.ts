import { excludeOf } from './exclude.js';
import { createSlowStart, type SlowStart, type SlowStartOptions } from './slow-start.js';
import type { AlgorithmContext, NodeChange, SelectionAlgorithm, SelectOptions } from './types.js';

/** Options of {@link RoundRobin}. */
export interface RoundRobinOptions {
  /** Ramp up new members' share (Envoy's slow start); off when absent. See {@link SlowStartOptions}. */
  slowStart?: SlowStartOptions;
}

/**
 * Index of the first entry of `sorted` that is `>= name` (`sorted.length` when none), comparing
 * by UTF-16 code units, the order `Array.prototype.sort` gives member lists.
 */
export function lowerBound(sorted: readonly string[], name: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < name) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Cycles through the sorted members: each member is picked once per round.
 *
 * - **Random start.** The first pick is at a random index, so many balancers started at once
 *   (one per process of a cluster) do not all hit the first member together.
 * - **Position survives membership changes.** When the member list changes, the cycle continues
 *   with the member that was due next, or, if that member left, the one after it by name (binary
 *   search in the new list). A rebuild never resets the cycle, so frequent joins and leaves do not
 *   hand extra picks to the first members.
 *
 * - **Slow start** (option `slowStart`, off by default): when the member due is ramping, it takes
 *   its turn with probability `w(t)` (its ramping weight); otherwise the turn passes to the next.
 *
 * Cost: O(1) per pick; O(log n) once per membership change.
 *
 * @example
 * ```ts
 * const lb = await node.startLoadBalancer({ name: 'rr', selectionAlgorithm: algorithms.RoundRobin });
 * ```
 */
export class RoundRobin implements SelectionAlgorithm {
  /** Skips `opts.exclude` itself: the cycle passes over excluded members (it keeps its place). */
  readonly honoursExclude = true;
  readonly #random: () => number;
  readonly #slowStart: SlowStart | undefined;
  #members: readonly string[] | undefined;
  #next = 0;

  /**
   * @param ctx - the balancer's context; `ctx.random` chooses the start,
   *   `ctx.options.slowStart` turns slow start on.
   * @throws TypeError when `slowStart` is malformed.
   */
  constructor(ctx: AlgorithmContext<RoundRobinOptions>) {
    this.#random = ctx.random;
    this.#slowStart = createSlowStart(ctx.options?.slowStart, ctx.now);
  }

  /** Returns the member due next and advances the cycle. */
  chooseFromNodes(nodes: readonly string[], opts?: SelectOptions): string {
    if (nodes !== this.#members) this.#resync(nodes);
    const exclude = excludeOf(opts);
    if (exclude !== undefined) return this.#chooseExcluding(nodes, exclude);
    let i = this.#next;
    const slowStart = this.#slowStart;
    if (slowStart !== undefined && slowStart.size !== 0) {
      // a ramping member that loses its admission draw passes its turn on (at most one round)
      for (let k = 1; k < nodes.length && this.#random() >= slowStart.weight(nodes[i]); k++) {
        i = i + 1 === nodes.length ? 0 : i + 1;
      }
    }
    this.#next = i + 1 === nodes.length ? 0 : i + 1;
    return nodes[i];
  }

  /** The next member in the cycle that is not excluded (slow start does not apply). */
  #chooseExcluding(nodes: readonly string[], exclude: readonly string[]): string {
    let i = this.#next;
    for (let k = 0; k < nodes.length && exclude.includes(nodes[i] as string); k++) {
      i = i + 1 === nodes.length ? 0 : i + 1;
    }
    if (exclude.includes(nodes[i] as string)) throw new RangeError('every member is excluded');
    this.#next = i + 1 === nodes.length ? 0 : i + 1;
    return nodes[i] as string;
  }

  /** Tells slow start about joins and leaves (the cycle itself follows the member array). */
  onNodeChange(change: NodeChange): void {
    this.#slowStart?.onNodeChange(change);
  }

  #resync(nodes: readonly string[]): void {
    const previous = this.#members;
    this.#members = nodes;
    if (previous === undefined || previous.length === 0) {
      this.#next = Math.floor(this.#random() * nodes.length);
      return;
    }
    const due = previous[this.#next];
    const at = lowerBound(nodes, due);
    this.#next = at === nodes.length ? 0 : at;
  }
}
