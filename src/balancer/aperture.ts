/**
 * Deterministic subsetting (Finagle's deterministic aperture, with weights instead of a rounded
 * width): the pure arithmetic of which members a caller talks to, and how much of its traffic
 * each of them should get. No state, no I/O; `subset.ts` keeps a balancer's layout up to date.
 *
 * The ring [0, 1) is shared by the members and the callers. Member `j` of `N` (sorted by name)
 * covers the arc [j/N, (j+1)/N); caller `i` of `C` (sorted by name) has the window
 * [i/C, i/C + w) with `w = min(1, max(minAperture / N, 1 / C))`. Its members are those whose
 * arcs overlap the window. `k(x)`, the number of windows covering point `x`, is the same for
 * every caller's layout (the windows are evenly spaced and equally wide), and a member's share
 * of caller `i`'s traffic is `C × ∫ over (its arc ∩ the window) of 1/k(x) dx`. Summed over the
 * callers, each member gets `∫ over its arc of 1 dx = 1/N` of the ring, times `C`: the same for
 * every member, with windows of about `minAperture + 1` members where Finagle rounds the width up
 * to a multiple of `1/C` (18 members instead of 12–13 for 90 members and 10 callers).
 *
 * The arithmetic is in integers: with the ring `N × C` units long, a member's arc is `C` units,
 * callers start `N` units apart and a window is `max(minAperture × C, N)` units (capped at `N × C`),
 * so every breakpoint of `k` is an integer and only the final divisions round.
 */

/** The members a caller selects from, and the share of its traffic each one should get. */
export interface ApertureLayout {
  /** This caller's position among the sorted callers (itself included). */
  readonly callerIndex: number;
  /** How many callers share the members (itself included). */
  readonly callerCount: number;
  /** The window's members, sorted by name (frozen). Empty when there are no members. */
  readonly members: readonly string[];
  /** `shares[m]`: the fraction of this caller's picks `members[m]` should get; they sum to 1. */
  readonly shares: readonly number[];
}

/**
 * The layout of caller `self` over `members` (sorted), given every caller's name (`callers`,
 * sorted; `self` is counted among them even when missing, e.g. before its join is seen).
 *
 * @example
 * ```ts
 * const layout = apertureLayout(members, callers, 'web3@10.0.0.7', 12);
 * layout.members; // 12 or 13 of the members when there are many
 * ```
 */
export function apertureLayout(
  members: readonly string[],
  callers: readonly string[],
  self: string,
  minAperture: number,
): ApertureLayout {
  const everyone = callers.includes(self) ? callers : [...callers, self].sort();
  const callerIndex = everyone.indexOf(self);
  const callerCount = everyone.length;
  const n = members.length;
  if (n === 0) return freeze(callerIndex, callerCount, [], []);
  const byIndex = windowShares(n, callerCount, callerIndex, minAperture);
  const indexes = [...byIndex.keys()].sort((a, b) => a - b);
  return freeze(
    callerIndex,
    callerCount,
    indexes.map((j) => members[j] as string),
    indexes.map((j) => byIndex.get(j) as number),
  );
}

/**
 * Member index → share of caller `i`'s traffic, for `n` members and `c` callers (the arithmetic
 * of {@link apertureLayout}, on indexes).
 */
export function windowShares(
  n: number,
  c: number,
  i: number,
  minAperture: number,
): Map<number, number> {
  const ring = n * c;
  const width = Math.min(ring, Math.max(minAperture * c, n));
  const coverage = new Coverage(n, width);
  const start = i * n;
  const end = start + width;
  const shares = new Map<number, number>();
  for (let arc = Math.floor(start / c); arc * c < end; arc++) {
    const from = Math.max(arc * c, start);
    const to = Math.min(arc * c + c, end);
    const j = arc % n;
    // a caller's window integrates to n units (see Coverage), so dividing by n gives shares
    shares.set(j, (shares.get(j) ?? 0) + coverage.integral(from, to) / n);
  }
  return shares;
}

/**
 * `k(x)`, the number of windows covering point `x` (in ring units), and integrals of `1/k`.
 * Windows start every `n` units and are `width` units wide, so within each stretch of `n` units
 * `k` is `q + 1` on its first `r` units and `q` on the rest (`width = q × n + r`).
 */
class Coverage {
  readonly #n: number;
  readonly #q: number;
  readonly #r: number;
  /** ∫ 1/k over one stretch of `n` units */
  readonly #perStretch: number;

  constructor(n: number, width: number) {
    this.#n = n;
    this.#q = Math.floor(width / n);
    this.#r = width - this.#q * n;
    this.#perStretch = this.#r / (this.#q + 1) + (n - this.#r) / this.#q;
  }

  /** ∫ over [from, to) of 1/k(x) dx, for integers 0 ≤ from ≤ to. */
  integral(from: number, to: number): number {
    const n = this.#n;
    const stretches = Math.floor(to / n) - Math.floor(from / n);
    return stretches * this.#perStretch + this.#within(to % n) - this.#within(from % n);
  }

  /** ∫ over [0, t) of 1/k, for 0 ≤ t < n (from the start of a stretch). */
  #within(t: number): number {
    const r = this.#r;
    return Math.min(t, r) / (this.#q + 1) + Math.max(0, t - r) / this.#q;
  }
}

function freeze(
  callerIndex: number,
  callerCount: number,
  members: string[],
  shares: number[],
): ApertureLayout {
  return Object.freeze({
    callerIndex,
    callerCount,
    members: Object.freeze(members),
    shares: Object.freeze(shares),
  });
}
