import { excludeOf } from './exclude.js';
import { InFlightAlgorithm, type InFlightAlgorithmOptions } from './in-flight-counters.js';
import type { SlowStart } from './slow-start.js';
import type { AlgorithmContext, SelectOptions } from './types.js';

/** Most admission draws a pick makes while ramping members keep losing them. */
const MAX_REJECTIONS = 8;

/**
 * Picks a member with the fewest selections in flight, then counts the new one; `releaseNode`
 * counts it finished.
 *
 * - **Counters** are per balancer and per member: they never go negative (a release with nothing
 *   in flight is ignored), a member that joins starts at zero, a member that leaves has its
 *   counter deleted (a later release for it is ignored).
 * - **Ties spread**: among the least loaded members the pick is uniformly random, so
 *   select-then-release traffic does not always land on the same member, and back-to-back
 *   selections without release go to different members.
 * - **Slow start** (option `slowStart`, off by default): a member that joined recently is a
 *   candidate with probability `w(t)` (its ramping weight, see {@link SlowStart}); when it loses
 *   that draw, the next least loaded member is taken instead.
 * - **Membership** is followed both ways: `onNodeChange` syncs at once, and a pick with a member
 *   array other than the last one seen syncs lazily, so the algorithm is correct whether or not
 *   the balancer reports changes.
 *
 * Cost: O(1) per pick and per release whatever the member count (an indexed bucket structure,
 * see {@link InFlightCounters}); O(n) once per membership change.
 *
 * @example
 * ```ts
 * const lb = await node.startLoadBalancer({
 *   name: 'lc',
 *   selectionAlgorithm: algorithms.LeastConnections,
 * });
 * const target = lb.selectNode();
 * try { await node.call(target, 'Jobs', 'run', []); } finally { lb.releaseNode(target); }
 * ```
 */
export class LeastConnections extends InFlightAlgorithm {
  /**
   * @param ctx - the balancer's context; `ctx.random` breaks ties, `ctx.options.slowStart`
   *   turns slow start on.
   * @throws TypeError when `slowStart` is malformed.
   */
  constructor(ctx: AlgorithmContext<InFlightAlgorithmOptions>) {
    super(ctx, { ranked: true });
  }

  /** Returns a least loaded member and counts the selection. */
  override chooseFromNodes(nodes: readonly string[], opts?: SelectOptions): string {
    const exclude = excludeOf(opts);
    if (exclude !== undefined) return this.chooseExcluding(nodes, exclude, false);
    const counters = this.counters;
    if (nodes !== counters.members) counters.sync(nodes);
    let slot = counters.pickLeast(this.random);
    const slowStart = this.slowStart;
    if (slowStart !== undefined && slowStart.size !== 0) slot = this.#admit(nodes, slot, slowStart);
    counters.acquire(slot);
    return nodes[slot];
  }

  /**
   * While the pick is a ramping member that loses its admission draw, counts it one busier for
   * the moment (so the next least loaded member comes up) and picks again; the temporary counts
   * are taken back before returning. Bounded by {@link MAX_REJECTIONS}.
   */
  #admit(nodes: readonly string[], first: number, slowStart: SlowStart): number {
    const counters = this.counters;
    const bumped: number[] = [];
    let slot = first;
    while (bumped.length < MAX_REJECTIONS && this.random() >= slowStart.weight(nodes[slot])) {
      counters.acquire(slot);
      bumped.push(slot);
      slot = counters.pickLeast(this.random);
    }
    for (const b of bumped) counters.release(nodes[b]);
    return slot;
  }
}
