import { excludeOf } from './exclude.js';
import { InFlightAlgorithm, type InFlightAlgorithmOptions } from './in-flight-counters.js';
import type { AlgorithmContext, SelectOptions } from './types.js';

/**
 * "Power of two choices": looks at two distinct random members and picks the one with fewer
 * selections in flight, then counts the new one; `releaseNode` counts it finished.
 *
 * Why: it needs no global minimum, yet keeps the maximum load exponentially closer to the mean
 * than a random pick, and unlike least connections it does not send a burst of concurrent
 * selections to the single least loaded member. Counters and release behave exactly as in
 * {@link LeastConnections} (shared code).
 *
 * - With one member, that member. With two, both are always compared, so it is least
 *   connections.
 * - **Slow start** (option `slowStart`, off by default): when the winner is a ramping member, it
 *   keeps the pick with probability `w(t)` (its ramping weight); otherwise the other candidate
 *   gets it.
 * - Ties go to either of the two with equal chance (the two are drawn in random order, so taking
 *   the first costs no extra random number).
 *
 * Cost: O(1) per pick (one random number, two counter reads) and per release; unlike
 * {@link LeastConnections} it keeps no by-count index, so acquire and release are one write each.
 *
 * @example
 * ```ts
 * const lb = await node.startLoadBalancer({ name: 'p2c', selectionAlgorithm: algorithms.PowerOfTwo });
 * ```
 */
export class PowerOfTwo extends InFlightAlgorithm {
  /**
   * @param ctx - the balancer's context; `ctx.random` draws the candidates,
   *   `ctx.options.slowStart` turns slow start on.
   * @throws TypeError when `slowStart` is malformed.
   */
  constructor(ctx: AlgorithmContext<InFlightAlgorithmOptions>) {
    super(ctx, { ranked: false });
  }

  /** Returns the less loaded of two distinct random members and counts the selection. */
  override chooseFromNodes(nodes: readonly string[], opts?: SelectOptions): string {
    const exclude = excludeOf(opts);
    if (exclude !== undefined) return this.chooseExcluding(nodes, exclude, true);
    const counters = this.counters;
    if (nodes !== counters.members) counters.sync(nodes);
    const n = nodes.length;
    let slot = 0;
    if (n > 1) {
      // one random number serves both draws: its integer part picks `a`, its fraction (still
      // uniform, with ~52 - log2(n) bits left from Math.random) picks `b` among the others
      // `| 0` truncates like Math.floor for these non-negative values below 2^31, and the skip
      // over `a` is arithmetic rather than a branch: that branch is taken half the time at
      // random, and its mispredictions measured ~9 ns per pick (docs/benchmarks.md)
      const x = this.random() * n;
      const a = x | 0;
      let b = ((x - a) * (n - 1)) | 0;
      b += 1 - ((b - a) >>> 31);
      slot = counters.countAt(b) < counters.countAt(a) ? b : a;
      const slowStart = this.slowStart;
      if (
        slowStart !== undefined &&
        slowStart.size !== 0 &&
        this.random() >= slowStart.weight(nodes[slot])
      ) {
        slot = slot === a ? b : a; // the ramping winner lost its admission draw
      }
    }
    counters.acquire(slot);
    return nodes[slot];
  }
}
