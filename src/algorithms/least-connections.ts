import { InFlightAlgorithm } from './in-flight-counters.js';
import type { AlgorithmContext, SelectOptions } from './types.js';

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
  /** @param ctx - the balancer's context; `ctx.random` breaks ties. Takes no options. */
  constructor(ctx: AlgorithmContext) {
    super(ctx, { ranked: true });
  }

  /** Returns a least loaded member and counts the selection. */
  override chooseFromNodes(nodes: readonly string[], _opts?: SelectOptions): string {
    const counters = this.counters;
    if (nodes !== counters.members) counters.sync(nodes);
    const slot = counters.pickLeast(this.random);
    counters.acquire(slot);
    return nodes[slot];
  }
}
