/**
 * Per-call exclusion (`exclude: [names]` in the selection options): the member list an
 * algorithm chooses from, without the excluded nodes.
 *
 * Algorithms cache what they derive from the member array by its identity (a ring, a
 * schedule), so the filtered arrays are kept: the same exclusion over the same members hands
 * the algorithm the same array again, until the members change. A retry that avoids the node
 * that refused it therefore costs the algorithm one rebuild per distinct exclusion, not one per
 * call. Algorithms that skip excluded nodes themselves (`honoursExclude`, e.g. `HashRing`,
 * which moves to the next replica along its ring) get the whole list instead.
 */
import { RpcError } from '../errors.js';
import { describe } from '../options.js';

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
