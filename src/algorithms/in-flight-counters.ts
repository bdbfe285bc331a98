import { randomAllowed } from './exclude.js';
import { createSlowStart, type SlowStart, type SlowStartOptions } from './slow-start.js';
import type { AlgorithmContext, NodeChange, SelectionAlgorithm, SelectOptions } from './types.js';

/**
 * Per-node in-flight counters shared by {@link LeastConnections} and {@link PowerOfTwo}.
 *
 * The structure is the one LFU caches use for O(1) frequency updates: the member slots are kept
 * in one array (`order`) sorted by count, and `start[c]` is the first position in `order` whose
 * count is at least `c`. Members with equal counts are therefore contiguous, the least loaded
 * ones are a prefix of `order`, and moving a member up or down by one is a swap with the edge of
 * its group plus one boundary shift. Nothing is scanned on a pick, so 1 000 members cost the same
 * as 10.
 *
 * A slot is a member's index in the sorted member array the counters were synced to, so the
 * algorithms can go from a picked index to its counter without a map lookup; only
 * {@link InFlightCounters.release}, which gets a name, looks the slot up.
 */

const EMPTY: readonly string[] = Object.freeze([]);

/** Options of {@link InFlightCounters}. */
export interface InFlightCountersOptions {
  /**
   * Keep the by-count index that {@link InFlightCounters.pickLeast} needs. Power of two only reads
   * two counters per pick, so it skips the index and its upkeep on every acquire and release.
   * @default true
   */
  ranked?: boolean;
}

/** In-flight counts for the members of one balancer. */
export class InFlightCounters {
  readonly #ranked: boolean;
  #members: readonly string[] = EMPTY;
  /**
   * Member name → slot. A null-prototype dictionary object rather than a `Map`: its keyed lookup
   * measured ~10 ns cheaper per release at 1 000 members, and member names are validated node
   * names (`id@host`), never `__proto__` or array indices.
   */
  #slotOf: Record<string, number> = Object.create(null);
  /** count by slot */
  #count = new Int32Array(0);
  /** slots sorted by count, ascending */
  #order = new Int32Array(0);
  /** position in `order` by slot */
  #pos = new Int32Array(0);
  /** `start[c]`: first position in `order` with count >= c, valid for c in [0, top + 1] */
  #start = new Int32Array(8);
  /** the highest count `start` covers; never shrinks between rebuilds, which is harmless */
  #top = 0;

  /** @param options - see {@link InFlightCountersOptions}. */
  constructor(options: InFlightCountersOptions = {}) {
    this.#ranked = options.ranked ?? true;
  }

  /** The member array the counters are synced to. */
  get members(): readonly string[] {
    return this.#members;
  }

  /**
   * Adopts a new member list: members that stay keep their counts, new members start at zero,
   * departed members' counters are deleted. O(n) — only on membership changes.
   */
  sync(nodes: readonly string[]): void {
    if (nodes === this.#members) return;
    const n = nodes.length;
    const count = new Int32Array(n);
    const slotOf: Record<string, number> = Object.create(null);
    let top = 0;
    for (let slot = 0; slot < n; slot++) {
      const old = this.#slotOf[nodes[slot] as string];
      const c = old === undefined ? 0 : this.#count[old];
      count[slot] = c;
      if (c > top) top = c;
      slotOf[nodes[slot] as string] = slot;
    }
    this.#members = nodes;
    this.#slotOf = slotOf;
    this.#count = count;
    if (this.#ranked) this.#rebuildOrder(top);
  }

  /** Counting sort of the slots by count, then the group boundaries. */
  #rebuildOrder(top: number): void {
    const n = this.#count.length;
    const start = new Int32Array(Math.max(8, top + 2));
    for (let slot = 0; slot < n; slot++) start[this.#count[slot] + 1]++;
    for (let c = 1; c <= top + 1; c++) start[c] += start[c - 1];
    const order = new Int32Array(n);
    const pos = new Int32Array(n);
    const fill = start.slice(0, top + 1);
    for (let slot = 0; slot < n; slot++) {
      const p = fill[this.#count[slot]]++;
      order[p] = slot;
      pos[slot] = p;
    }
    this.#order = order;
    this.#pos = pos;
    this.#start = start;
    this.#top = top;
  }

  /** In-flight count of the member at `slot`. */
  countAt(slot: number): number {
    return this.#count[slot];
  }

  /**
   * A uniformly random slot among the least loaded members. Random rather than first so that
   * select-then-release traffic does not pile onto one member while the others sit idle.
   * Requires `ranked` counters.
   */
  pickLeast(random: () => number): number {
    const min = this.#count[this.#order[0]];
    const size = this.#start[min + 1];
    return this.#order[Math.floor(random() * size)];
  }

  /** Counts one more selection of the member at `slot`. */
  acquire(slot: number): void {
    const c = this.#count[slot];
    if (!this.#ranked) {
      this.#count[slot] = c + 1;
      return;
    }
    if (c + 1 > this.#top) this.#raiseTop(c + 1);
    // move the slot to the end of its group, then shrink the group by one from the right
    const last = --this.#start[c + 1];
    this.#swap(this.#pos[slot], last);
    this.#count[slot] = c + 1;
  }

  /**
   * Counts one selection of `node` as finished. Ignored (returns `false`) when `node` is not a
   * member or has nothing in flight, so counters never go negative and a late release for a
   * departed member is harmless.
   */
  release(node: string): boolean {
    const slot = this.#slotOf[node];
    if (slot === undefined) return false;
    const c = this.#count[slot];
    if (c === 0) return false;
    if (!this.#ranked) {
      this.#count[slot] = c - 1;
      return true;
    }
    // move the slot to the front of its group, then shrink the group by one from the left
    const first = this.#start[c]++;
    this.#swap(this.#pos[slot], first);
    this.#count[slot] = c - 1;
    return true;
  }

  #swap(p: number, q: number): void {
    const a = this.#order[p];
    const b = this.#order[q];
    this.#order[p] = b;
    this.#order[q] = a;
    this.#pos[a] = q;
    this.#pos[b] = p;
  }

  /** Extends `start` to cover count `top` (amortised O(1): the buffer doubles). */
  #raiseTop(top: number): void {
    if (top + 2 > this.#start.length) {
      const grown = new Int32Array(Math.max(top + 2, this.#start.length * 2));
      grown.set(this.#start);
      this.#start = grown;
    }
    // no member has a count above the old top, so the new groups start at the end
    for (let c = this.#top + 2; c <= top + 1; c++) this.#start[c] = this.#count.length;
    this.#top = top;
  }

  /** In-flight count of `node`; 0 for a non-member. */
  inFlight(node: string): number {
    const slot = this.#slotOf[node];
    return slot === undefined ? 0 : this.#count[slot];
  }

  /** Sum of all members' in-flight counts. O(n). */
  total(): number {
    let sum = 0;
    for (let slot = 0; slot < this.#count.length; slot++) sum += this.#count[slot];
    return sum;
  }

  /** A copy of every member's count, by name, in member order. */
  snapshot(): Map<string, number> {
    const out = new Map<string, number>();
    for (let slot = 0; slot < this.#members.length; slot++) {
      out.set(this.#members[slot], this.#count[slot]);
    }
    return out;
  }
}

/** Options of {@link LeastConnections} and {@link PowerOfTwo}. */
export interface InFlightAlgorithmOptions {
  /** Ramp up new members' share (Envoy's slow start); off when absent. See {@link SlowStartOptions}. */
  slowStart?: SlowStartOptions;
}

/**
 * What {@link LeastConnections} and {@link PowerOfTwo} share: per-member in-flight counters,
 * release, membership sync, slow start and inspection. Subclasses only decide which member to pick.
 */
export abstract class InFlightAlgorithm implements SelectionAlgorithm {
  /** Skips `opts.exclude` itself, keeping every member's counter (see `chooseExcluding`). */
  readonly honoursExclude = true;
  protected readonly random: () => number;
  protected readonly counters: InFlightCounters;
  /** Present when `slowStart` is configured. */
  protected readonly slowStart: SlowStart | undefined;

  constructor(
    ctx: AlgorithmContext<InFlightAlgorithmOptions>,
    counterOptions: InFlightCountersOptions,
  ) {
    this.random = ctx.random;
    this.counters = new InFlightCounters(counterOptions);
    this.slowStart = createSlowStart(ctx.options?.slowStart, ctx.now);
  }

  /** Picks a member and counts the selection. */
  abstract chooseFromNodes(nodes: readonly string[], opts?: SelectOptions): string;

  /**
   * A pick that leaves out the members in `exclude`, counted like any other: the least loaded of
   * the others (ties at random) or, with `pickTwo`, the less loaded of two distinct random ones.
   * An O(n) scan, on the exclusion path only; slow start does not apply to it.
   */
  protected chooseExcluding(
    nodes: readonly string[],
    exclude: readonly string[],
    pickTwo: boolean,
  ): string {
    const counters = this.counters;
    if (nodes !== counters.members) counters.sync(nodes);
    let slot: number;
    if (pickTwo) {
      const a = randomAllowed(nodes, exclude, this.random);
      const b = randomAllowed(nodes, [...exclude, nodes[a] as string], this.random, a);
      slot = b !== a && counters.countAt(b) < counters.countAt(a) ? b : a;
    } else {
      slot = -1;
      let ties = 0;
      for (let i = 0; i < nodes.length; i++) {
        if (exclude.includes(nodes[i] as string)) continue;
        const c = counters.countAt(i);
        if (slot === -1 || c < counters.countAt(slot)) {
          slot = i;
          ties = 1;
        } else if (c === counters.countAt(slot) && this.random() * ++ties < 1) {
          slot = i;
        }
      }
      if (slot === -1) throw new RangeError('every member is excluded');
    }
    counters.acquire(slot);
    return nodes[slot] as string;
  }

  /** Counts one selection of `node` as finished; ignored for non-members and idle members. */
  releaseNode(node: string): void {
    this.counters.release(node);
  }

  /** Adopts the new member list at once (joiners at zero, leavers' counters deleted). */
  onNodeChange(change: NodeChange): void {
    this.counters.sync(change.members);
    this.slowStart?.onNodeChange(change);
  }

  /** Selections of `node` in flight; 0 for a non-member. */
  inFlight(node: string): number {
    return this.counters.inFlight(node);
  }

  /** A copy of every current member's in-flight count. */
  snapshot(): Map<string, number> {
    return this.counters.snapshot();
  }
}
