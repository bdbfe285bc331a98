/**
 * Helpers for algorithms that honour `opts.exclude` themselves (`honoursExclude`): the list, when
 * there is one, and uniform draws among the members it leaves. Pure; only used on the exclusion
 * path, so an O(n) scan is fine there.
 */
import type { SelectOptions } from './types.js';

/** `opts.exclude` when it names at least one node, else `undefined` (the usual, fast case). */
export function excludeOf(opts: SelectOptions | undefined): readonly string[] | undefined {
  const exclude = opts?.exclude;
  return exclude !== undefined && exclude.length > 0 ? exclude : undefined;
}

/** Draws tried before the scan: when few members are excluded, one of them almost always lands. */
const REJECTION_DRAWS = 4;

/**
 * A uniformly random index of `nodes` not in `exclude` (the balancer ensures there is one);
 * `fallback` when none is left (for a second draw that may find nothing new). A few uniform
 * draws first (a draw that lands on an excluded member is redrawn, which keeps the result
 * uniform), then a scan with one draw per member left.
 */
export function randomAllowed(
  nodes: readonly string[],
  exclude: readonly string[],
  random: () => number,
  fallback?: number,
): number {
  for (let draw = 0; draw < REJECTION_DRAWS && exclude.length < nodes.length; draw++) {
    const i = Math.floor(random() * nodes.length);
    if (!exclude.includes(nodes[i] as string)) return i;
  }
  let chosen = -1;
  let seen = 0;
  for (let i = 0; i < nodes.length; i++) {
    if (exclude.includes(nodes[i] as string)) continue;
    // reservoir sampling: the k-th allowed member replaces the choice with probability 1/k
    if (random() * ++seen < 1) chosen = i;
  }
  if (chosen !== -1) return chosen;
  if (fallback !== undefined) return fallback;
  throw new RangeError('every member is excluded');
}
