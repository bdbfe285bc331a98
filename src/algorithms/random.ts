import { excludeOf, randomAllowed } from './exclude.js';
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
  /** Skips `opts.exclude` itself: a uniform draw among the members left. */
  readonly honoursExclude = true;
  readonly #random: () => number;

  /** @param ctx - the balancer's context; only `ctx.random` is used. Takes no options. */
  constructor(ctx: AlgorithmContext) {
    this.#random = ctx.random;
  }

  /** Returns `nodes[floor(random() * nodes.length)]`. */
  chooseFromNodes(nodes: readonly string[], opts?: SelectOptions): string {
    const exclude = excludeOf(opts);
    if (exclude !== undefined) return nodes[randomAllowed(nodes, exclude, this.#random)] as string;
    return nodes[Math.floor(this.#random() * nodes.length)];
  }
}
