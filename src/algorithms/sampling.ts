/**
 * Random helpers shared by the algorithms. Randomness always comes from the injected source so
 * tests and simulations replay exactly.
 */

/**
 * Up to `count` distinct members of `nodes` in random order (a partial Fisher-Yates shuffle of
 * a copy; `nodes` itself is frozen and left alone).
 */
export function sampleDistinct(
  nodes: readonly string[],
  count: number,
  random: () => number,
): string[] {
  const pool = nodes.slice();
  const take = Math.max(0, Math.min(Math.floor(count), pool.length));
  for (let i = 0; i < take; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    const picked = pool[j];
    pool[j] = pool[i];
    pool[i] = picked;
  }
  pool.length = take;
  return pool;
}
