/**
 * How a subset's shares are honoured whatever the algorithm: a window member whose share is
 * below the window's largest is left out of a pick (through the per-pick exclusion, as outlier
 * ejection does) while this caller has already given it its due, that is while
 *
 *     picks(m) ≥ share(m) / maxShare × (mean picks of the members with the largest share) + 1.
 *
 * The members with the largest share are never left out, so a pick is never empty and the
 * algorithm keeps its freedom among them; it may also give a member less than its share (a
 * load-aware algorithm avoiding a slow member), never more than one pick beyond it.
 *
 * Why a quota and not a random draw (leave `m` out with probability `1 − share/maxShare`): an
 * algorithm with memory undoes a random draw. `LeastLoaded` breaks ties by the member picked
 * least recently, so a member left out at its turn comes first at the next pick that includes it,
 * and gets a full share anyway: with 90 members, 10 callers and windows of 12, the busiest member
 * then gets 1.43 × the mean, against 1.002 with the quota (`test/unit/balancer/subset-balance.test.ts`).
 * Even a memoryless uniform choice among the members left under-serves the light ones: in the
 * picks a light member is in, it has more rivals on average than a heavy member has (all the
 * heavy ones are always there), so in that layout it gets 0.943 × its share.
 */
import type { SelectOptions } from '../algorithms/types.js';

/** What to leave out of one pick: the names, and selection options with only them excluded. */
export interface Thinned {
  readonly names: readonly string[];
  readonly opts: SelectOptions;
}

/** Shares within this of the largest count as the largest (rounding of the layout). */
const FULL = 1 - 1e-9;
/** Up to this many lighter members, the left-out lists are cached by bit mask (no allocation). */
const MAX_CACHED_LIGHT = 30;
/** Left-out lists kept; beyond this the cache starts over. */
const MAX_CACHED_LISTS = 1_024;

/** The quota of one layout's window (a new layout starts a new quota). */
export class ShareQuota {
  readonly #members: readonly string[];
  /** share / largest share, by slot (the member's index in the window) */
  readonly #ratio: Float64Array;
  readonly #full: Uint8Array;
  readonly #fullNames: readonly string[];
  /** slots of the members with less than the largest share */
  readonly #light: Int32Array;
  readonly #slotOf = new Map<string, number>();
  readonly #picks: Float64Array;
  #fullPicks = 0;
  readonly #cache = new Map<number, Thinned>();

  /** A quota for `members` with `shares`, or `undefined` when the shares are all equal. */
  static of(members: readonly string[], shares: readonly number[]): ShareQuota | undefined {
    const largest = Math.max(...shares);
    return shares.every((share) => share >= largest * FULL)
      ? undefined
      : new ShareQuota(members, shares, largest);
  }

  private constructor(members: readonly string[], shares: readonly number[], largest: number) {
    const n = members.length;
    this.#members = members;
    this.#ratio = Float64Array.from(shares, (share) => share / largest);
    this.#full = Uint8Array.from(this.#ratio, (ratio) => (ratio >= FULL ? 1 : 0));
    this.#fullNames = members.filter((_, slot) => this.#full[slot] === 1);
    const light: number[] = [];
    for (let slot = 0; slot < n; slot++) {
      this.#slotOf.set(members[slot] as string, slot);
      if (this.#full[slot] === 0) light.push(slot);
    }
    this.#light = Int32Array.from(light);
    this.#picks = new Float64Array(n);
  }

  /** The window this quota is for. */
  get members(): readonly string[] {
    return this.#members;
  }

  /**
   * The members to leave out of the next pick, or `undefined` for none. `excluded`: what the
   * pick already leaves out (the caller's `exclude`, ejected members); when that covers every
   * member with the largest share, nothing more is left out, so the pick keeps a candidate.
   */
  leftOut(excluded: readonly string[] | undefined): Thinned | undefined {
    const light = this.#light;
    const due = this.#fullPicks / this.#fullNames.length;
    let mask = 0;
    let names: string[] | undefined;
    for (let i = 0; i < light.length; i++) {
      const slot = light[i] as number;
      if (this.#picks[slot] < this.#ratio[slot] * due + 1) continue;
      if (light.length <= MAX_CACHED_LIGHT) mask |= 1 << i;
      else (names ??= []).push(this.#members[slot] as string);
    }
    if (mask === 0 && names === undefined) return undefined;
    if (excluded !== undefined && this.#fullNames.every((node) => excluded.includes(node))) {
      return undefined;
    }
    return names === undefined ? this.#cached(mask) : { names, opts: { exclude: names } };
  }

  /** Counts a pick of `node` (ignored for a node outside the window). */
  picked(node: string): void {
    const slot = this.#slotOf.get(node);
    if (slot === undefined) return;
    this.#picks[slot]++;
    if (this.#full[slot] === 1) this.#fullPicks++;
  }

  #cached(mask: number): Thinned {
    let thinned = this.#cache.get(mask);
    if (thinned === undefined) {
      const names: string[] = [];
      this.#light.forEach((slot, i) => {
        if (mask & (1 << i)) names.push(this.#members[slot] as string);
      });
      Object.freeze(names);
      thinned = Object.freeze({ names, opts: Object.freeze({ exclude: names }) });
      if (this.#cache.size >= MAX_CACHED_LISTS) this.#cache.clear();
      this.#cache.set(mask, thinned);
    }
    return thinned;
  }
}
