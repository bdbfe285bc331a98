import type { NodeChange } from './types.js';
import { optionalNumber, requireRecord } from './validate.js';

/**
 * Options of slow start (Envoy's model), shared by `LeastConnections`, `PowerOfTwo`,
 * `RoundRobin` and `LeastLoaded` as `algorithmOpts.slowStart`.
 *
 * @example
 * ```ts
 * await node.startLoadBalancer({
 *   name: 'jobs',
 *   selectionAlgorithm: algorithms.LeastConnections,
 *   algorithmOpts: { slowStart: { windowMs: 30_000, minWeightPercent: 10 } },
 * });
 * ```
 */
export interface SlowStartOptions {
  /**
   * How long a new member's weight takes to ramp up to full, in ms.
   * @default 10_000
   */
  windowMs?: number;
  /**
   * The weight a new member starts at, in percent of a full member's.
   * @default 10
   */
  minWeightPercent?: number;
}

/** Default {@link SlowStartOptions.windowMs}. */
export const DEFAULT_SLOW_START_WINDOW_MS = 10_000;
/** Default {@link SlowStartOptions.minWeightPercent}. */
export const DEFAULT_SLOW_START_MIN_WEIGHT_PERCENT = 10;

/**
 * Slow start for new members: a member that joins ramps its weight linearly from
 * `minWeightPercent` to 100 % over `windowMs`, `w(t) = max(min, age / window)`, so a cold process
 * (JIT, caches, connection pools) is not handed a full share of a busy cluster's traffic at once.
 * How the weight is applied is up to the algorithm (a ramping member is a candidate for a pick
 * with probability `w`, or receives `w` times its fair share).
 *
 * Members present at the first membership event, and members joining within `windowMs` of it,
 * do not ramp: while the balancer itself is starting (cluster boot, a new caller) there is no
 * established traffic to protect a newcomer from, and ramping some members but not others would
 * only pile the load on whichever arrived first.
 *
 * Pure and clock-injected; state is a small map of the members currently ramping.
 */
export class SlowStart {
  readonly #now: () => number;
  readonly #windowMs: number;
  readonly #minWeight: number;
  /** ramping member → when its ramp started */
  readonly #ramping = new Map<string, number>();
  #firstChangeAt: number | undefined;

  /**
   * @param options - the resolved options (see {@link resolveSlowStart})
   * @param now - the balancer's millisecond clock
   */
  constructor(options: Required<SlowStartOptions>, now: () => number) {
    this.#now = now;
    this.#windowMs = options.windowMs;
    this.#minWeight = options.minWeightPercent / 100;
  }

  /** Members currently ramping (0 on the hot path almost always). */
  get size(): number {
    return this.#ramping.size;
  }

  /** Follows membership: joiners after the start-up grace period ramp, leavers are forgotten. */
  onNodeChange(change: NodeChange): void {
    const now = this.#now();
    if (change.type === 'leave') {
      for (const node of change.nodes) this.#ramping.delete(node);
      return;
    }
    if (this.#firstChangeAt === undefined) this.#firstChangeAt = now;
    if (now - this.#firstChangeAt < this.#windowMs) return;
    for (const node of change.nodes) this.#ramping.set(node, now);
  }

  /** The weight of `node` now, in (0, 1]: 1 for a member that is not ramping. */
  weight(node: string): number {
    const since = this.#ramping.get(node);
    if (since === undefined) return 1;
    const progress = (this.#now() - since) / this.#windowMs;
    if (progress >= 1) {
      this.#ramping.delete(node);
      return 1;
    }
    return Math.max(this.#minWeight, progress);
  }

  /**
   * Hands ramping members their share explicitly: given `u` uniform in `[0, n)` (`n` = the
   * member count), returns ramping member `j` with probability `w_j / n` (its fair share scaled
   * by its weight), or `undefined` when the pick is an ordinary one. Members whose window is
   * over stop ramping here. O(ramping members), allocation-free.
   */
  chooseByShare(u: number): string | undefined {
    let cumulative = 0;
    for (const node of this.#ramping.keys()) {
      const w = this.weight(node); // a finished member is deleted here (safe while iterating)
      if (w === 1) continue;
      cumulative += w;
      if (u < cumulative) return node;
    }
    return undefined;
  }
}

/**
 * Validates `algorithmOpts.slowStart` and applies the defaults; `undefined` when slow start is
 * off (the option is absent or `false`).
 *
 * @throws TypeError naming `slowStart.<field>` when a value is out of range.
 */
export function resolveSlowStart(value: unknown): Required<SlowStartOptions> | undefined {
  if (value === undefined || value === false) return undefined;
  const record =
    requireRecord(
      'slowStart',
      value === true ? {} : value,
      'an object { windowMs, minWeightPercent }',
    ) ?? {};
  return {
    windowMs: optionalNumber(
      'slowStart.windowMs',
      record.windowMs,
      DEFAULT_SLOW_START_WINDOW_MS,
      1,
      Number.POSITIVE_INFINITY,
    ),
    minWeightPercent: optionalNumber(
      'slowStart.minWeightPercent',
      record.minWeightPercent,
      DEFAULT_SLOW_START_MIN_WEIGHT_PERCENT,
      1,
      100,
    ),
  };
}

/** A {@link SlowStart} for `value`, or `undefined` when slow start is off. */
export function createSlowStart(value: unknown, now: () => number): SlowStart | undefined {
  const options = resolveSlowStart(value);
  return options === undefined ? undefined : new SlowStart(options, now);
}
