/**
 * Per-call exclusion (`exclude: [names]` in the selection options), for algorithms that do not
 * skip excluded nodes themselves (`honoursExclude`, as `HashRing` does, moving a key to its next
 * replica along its ring).
 *
 * A pick is not made from a filtered member array: algorithms keep per-member state (in-flight
 * counts, latency estimates, load readings) synced to the array they are given, and a filtered
 * one would drop the excluded members' state. Instead the algorithm chooses from the whole list
 * as usual, and a pick of an excluded node is held (so a counting algorithm sees it busier and
 * moves on) while it chooses again; the held picks are released, without an outcome, once a
 * node that is not excluded comes up. After a bounded number of tries (an algorithm that keeps
 * choosing an excluded node, e.g. one far less loaded than the rest), a node is drawn at random
 * from those left, outside the algorithm's bookkeeping.
 *
 * Replica lists (`selectNodes`) come from the members without the excluded ones: the filtered
 * arrays are kept per exclusion, so the same exclusion hands the same array again until the
 * members change.
 */
import type { SelectionAlgorithm, SelectOptions } from '../algorithms/types.js';
import { RpcError } from '../errors.js';
import { describe } from '../options.js';

/** Tries beyond the member count before a pick avoiding excluded nodes falls back to a draw. */
const EXTRA_TRIES = 8;

/**
 * A pick by `algorithm` from `members` that is not in `exclude` (some member is not), with the
 * algorithm's state kept; `counted: false` when it had to be drawn at random, outside the
 * algorithm (its release must not reach the algorithm).
 */
export function chooseAvoiding(
  algorithm: SelectionAlgorithm,
  members: readonly string[],
  opts: SelectOptions,
  exclude: readonly string[],
  allowed: readonly string[],
  random: () => number,
): { node: string; counted: boolean } {
  const held: string[] = [];
  try {
    for (let i = 0; i < members.length + EXTRA_TRIES; i++) {
      const node = algorithm.chooseFromNodes(members, opts);
      if (!exclude.includes(node)) return { node, counted: true };
      held.push(node);
    }
  } finally {
    for (const node of held) algorithm.releaseNode?.(node);
  }
  return { node: allowed[Math.floor(random() * allowed.length)] as string, counted: false };
}

/** Filtered arrays kept per member array; beyond this the cache starts over. */
const MAX_CACHED_EXCLUSIONS = 64;

export class ExclusionFilter {
  #for: readonly string[] | undefined;
  readonly #cache = new Map<string, readonly string[]>();

  /**
   * `members` without the nodes in `exclude` (the same array when none of them is a member).
   * An empty result means every member is excluded.
   */
  without(members: readonly string[], exclude: readonly string[]): readonly string[] {
    if (!exclude.some((node) => members.includes(node))) return members;
    if (members !== this.#for) {
      this.#for = members;
      this.#cache.clear();
    }
    const key = exclude.length === 1 ? (exclude[0] as string) : [...exclude].sort().join('\0');
    let filtered = this.#cache.get(key);
    if (filtered === undefined) {
      if (this.#cache.size >= MAX_CACHED_EXCLUSIONS) this.#cache.clear();
      filtered = Object.freeze(members.filter((node) => !exclude.includes(node)));
      this.#cache.set(key, filtered);
    }
    return filtered;
  }
}

/**
 * The `exclude` option checked: `undefined` when absent or empty, the array when it is one of
 * strings, else `bad_request` naming the field.
 */
export function checkExclude(value: unknown, balancer: string): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new RpcError(
      'bad_request',
      `option "exclude" must be an array of node names, received ${describe(value)}`,
      { details: { balancer, field: 'exclude' }, notExecuted: true },
    );
  }
  return value.length === 0 ? undefined : value;
}
