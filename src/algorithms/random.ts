import type { AlgorithmContext, SelectionAlgorithm, SelectOptions } from './types.js';

/**
 * Picks a member uniformly at random.
 *
 * Stateless apart from the random source, so it needs no release and no rebuild on membership
 * changes. With many independent callers it spreads load evenly on average, though any single
 * caller's picks can bunch up; prefer {@link RoundRobin}, {@link LeastConnections} or the default,
 * `LeastLoaded`, when that matters.
 *
 * Cost: one call of the random source per pick, O(1).
 *
 * @example
 * ```ts
 * const lb = await node.startLoadBalancer({ name: 'rand', selectionAlgorithm: algorithms.Random });
 * ```
 */
export class Random implements SelectionAlgorithm {
  readonly #random: () => number;

  /** @param ctx - the balancer's context; only `ctx.random` is used. Takes no options. */
  constructor(ctx: AlgorithmContext) {
    this.#random = ctx.random;
  }

  /** Returns `nodes[floor(random() * nodes.length)]`. */
  chooseFromNodes(nodes: readonly string[], _opts?: SelectOptions): string {
    return nodes[Math.floor(this.#random() * nodes.length)];
  }
}
