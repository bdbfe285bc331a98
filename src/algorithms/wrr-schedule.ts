/**
 * Schedules behind {@link WeightedRoundRobin}: which member index to pick next so that, over one
 * cycle of `sum(weights)` picks, member `i` is picked exactly `weights[i]` times, and the picks of
 * each member are spread out rather than bunched.
 *
 * Three tiers, chosen when the member list changes so that neither the rebuild nor a pick is
 * ever slow:
 *
 * | tier | when | rebuild | pick |
 * |---|---|---|---|
 * | nginx smooth WRR, tabulated | n * sum <= 2^22 | O(n * sum), a few ms at most | O(1) |
 * | earliest deadline first, recorded | sum <= 2^20 | O(n) | O(log n) in the first cycle, then O(1) |
 * | earliest deadline first, live heap | otherwise | O(n) | O(log n) |
 *
 * nginx's smooth weighted round robin gives the best interleaving but costs O(n) per step, so it
 * is only run once, to fill a table, and only while that is cheap. Past that, an
 * earliest-deadline-first scheduler (the approach of grpc-js's weighted round robin) produces the
 * schedule in O(log n) per step; it is periodic, so its first cycle is recorded and replayed.
 */

/** Longest cycle that is tabulated (4 MiB of `Uint32Array`). */
export const MAX_TABLE_LENGTH = 2 ** 20;
/**
 * Most `n * sum` steps spent computing an nginx smooth WRR table: ~3 ns each on a slow VM, so a
 * membership change stalls the event loop for ~12 ms at worst.
 */
export const MAX_SMOOTH_WORK = 2 ** 22;

/** Something that yields the next member index. */
export interface Schedule {
  /** The member index to pick next. */
  next(): number;
}

function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) {
    const r = x % y;
    x = y;
    y = r;
  }
  return x;
}

/**
 * Divides the weights by their greatest common divisor in place and returns their sum. Both
 * schedules are scale-invariant, so this only shortens the cycle.
 */
export function reduceWeights(weights: Float64Array): number {
  let g = 0;
  for (const w of weights) g = gcd(w, g);
  let sum = 0;
  for (let i = 0; i < weights.length; i++) {
    weights[i] /= g || 1;
    sum += weights[i];
  }
  return sum;
}

/**
 * One cycle of nginx's smooth weighted round robin: every step each member's current weight
 * grows by its weight, the largest (first on ties) is picked and loses the total.
 */
export function smoothCycle(weights: Float64Array, total: number): Uint32Array {
  const n = weights.length;
  const current = new Float64Array(n);
  const cycle = new Uint32Array(total);
  for (let t = 0; t < total; t++) {
    let best = 0;
    let bestValue = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const value = current[i] + weights[i];
      current[i] = value;
      if (value > bestValue) {
        bestValue = value;
        best = i;
      }
    }
    current[best] -= total;
    cycle[t] = best;
  }
  return cycle;
}

/** One cycle of {@link EdfSchedule}, tabulated. */
export function edfCycle(weights: Float64Array, total: number, rotation: number): Uint32Array {
  const edf = new EdfSchedule(weights, total, rotation);
  const cycle = new Uint32Array(total);
  for (let t = 0; t < total; t++) cycle[t] = edf.next();
  return cycle;
}

/**
 * Records the first cycle of a periodic schedule as it is produced, then replays it: the rebuild
 * costs nothing up front and, after one cycle, a pick is a table read.
 */
export class RecordingSchedule implements Schedule {
  readonly #source: Schedule;
  readonly #cycle: Uint32Array;
  #recorded = 0;
  #cursor = 0;

  /**
   * @param source - a schedule whose output repeats every `total` picks
   * @param total - its period
   */
  constructor(source: Schedule, total: number) {
    this.#source = source;
    this.#cycle = new Uint32Array(total);
  }

  /** The source's next index, from the recording once the first cycle is complete. */
  next(): number {
    if (this.#recorded < this.#cycle.length) {
      const index = this.#source.next();
      this.#cycle[this.#recorded++] = index;
      return index;
    }
    const i = this.#cursor;
    this.#cursor = i + 1 === this.#cycle.length ? 0 : i + 1;
    return this.#cycle[i];
  }
}

/** A tabulated cycle read with a cursor. */
export class TableSchedule implements Schedule {
  /** The cycle's member indices. */
  readonly cycle: Uint32Array;
  /** Position of the next pick in {@link TableSchedule.cycle}. */
  cursor: number;

  /**
   * @param cycle - one cycle of member indices
   * @param cursor - where to start reading, in [0, cycle.length)
   */
  constructor(cycle: Uint32Array, cursor: number) {
    this.cycle = cycle;
    this.cursor = cursor;
  }

  /** The member index at the cursor; advances it, wrapping at the end of the cycle. */
  next(): number {
    const i = this.cursor;
    this.cursor = i + 1 === this.cycle.length ? 0 : i + 1;
    return this.cycle[i];
  }
}

/**
 * Earliest deadline first: member `i`'s `k`-th pick of a cycle is due at `(k + c_i) / w_i`, and the
 * member with the earliest deadline goes next (lower index on ties). Since every offset `c_i` is
 * in (0, 1), the first `w_i` deadlines of every member fall inside [0, 1) and the next ones after
 * 1, so each cycle of `sum(w)` picks holds exactly `w_i` picks of member `i`. The offsets are
 * staggered (`(j + 0.5) / n` for a rotated index `j`) so that members of equal weight take turns
 * instead of all coming due at the same instant.
 */
export class EdfSchedule implements Schedule {
  readonly #weights: Float64Array;
  readonly #offsets: Float64Array;
  readonly #picks: Float64Array;
  readonly #deadline: Float64Array;
  readonly #heap: Uint32Array;
  readonly #total: number;
  #done = 0;

  /**
   * @param weights - positive integer weights by member index
   * @param total - their sum, the cycle length
   * @param rotation - integer in [0, n) that rotates the offsets, so the cycle starts elsewhere
   */
  constructor(weights: Float64Array, total: number, rotation: number) {
    const n = weights.length;
    this.#weights = weights;
    this.#total = total;
    this.#offsets = new Float64Array(n);
    this.#picks = new Float64Array(n);
    this.#deadline = new Float64Array(n);
    this.#heap = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      this.#offsets[i] = (((i + rotation) % n) + 0.5) / n;
      this.#heap[i] = i;
    }
    this.#startCycle();
  }

  /** The member with the earliest deadline; schedules its next deadline. O(log n). */
  next(): number {
    const top = this.#heap[0];
    this.#picks[top]++;
    this.#deadline[top] = (this.#picks[top] + this.#offsets[top]) / this.#weights[top];
    this.#siftDown(0);
    if (++this.#done === this.#total) this.#startCycle();
    return top;
  }

  /** Resets pick counts at each cycle end, so deadlines stay small and exact. */
  #startCycle(): void {
    this.#done = 0;
    const n = this.#heap.length;
    for (let i = 0; i < n; i++) {
      this.#picks[i] = 0;
      this.#deadline[i] = this.#offsets[i] / this.#weights[i];
    }
    for (let i = (n >>> 1) - 1; i >= 0; i--) this.#siftDown(i);
  }

  #before(a: number, b: number): boolean {
    const da = this.#deadline[a];
    const db = this.#deadline[b];
    return da < db || (da === db && a < b);
  }

  #siftDown(from: number): void {
    const heap = this.#heap;
    const n = heap.length;
    let i = from;
    const item = heap[i];
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.#before(heap[child + 1], heap[child])) child++;
      if (!this.#before(heap[child], item)) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = item;
  }
}
