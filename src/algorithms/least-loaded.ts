import type { RpcErrorCode } from '../errors.js';
import { CostHeap } from './cost-heap.js';
import { excludeOf, randomAllowed } from './exclude.js';
import { type LeastLoadedOptions, resolveLeastLoaded } from './least-loaded-options.js';
import { failureCode } from './outcome.js';
import { createSlowStart, type SlowStart } from './slow-start.js';
import type {
  AlgorithmContext,
  CallOutcome,
  NodeChange,
  SelectionAlgorithm,
  SelectOptions,
} from './types.js';

export {
  DEFAULT_FAILURE_PENALTY,
  DEFAULT_LEAST_LOADED_DECAY_MS,
  DEFAULT_PENALTY_CODES,
  type LeastLoadedOptions,
} from './least-loaded-options.js';

const EMPTY: readonly string[] = Object.freeze([]);
/** Latency floor (1 µs) so a zero-latency sample keeps a finite logarithm. */
const MIN_LATENCY_MS = 1e-3;
/**
 * Weight of the tie-break in a key: members of equal cost go in order of their last pick (round
 * robin, from a random order per balancer). A million picks apart shift a key by 1e-3 (0.1 % of
 * cost), so it never outweighs a real difference.
 */
const TIE_STEP = 1e-9;
/** Picks, or decay times, after which keys are rebased so they stay small and exact. */
const REBASE_PICKS = 1 << 20;
const REBASE_DECAYS = 64;
/** `ln(c + 1)` for the in-flight counts met on the hot path, so a re-key takes no logarithm. */
const LN_COUNT = Float64Array.from({ length: 64 }, (_, c) => Math.log(c + 1));
/** Samples after which the warm-up mean stops mattering against any realistic decay weight. */
const MAX_SAMPLES = 1 << 20;
/** The typical latency is a mean over this many recent successes. */
const TYPICAL_WINDOW = 100;
/** The latency prior before anything is known: every member equal, i.e. least connections. */
const NO_INFO_PRIOR_MS = 1;

/**
 * Latency-aware least loaded: picks the member with the lowest `(in flight + 1) × latency`, the
 * expected wait of one more call there.
 *
 * - **In flight** is this balancer's own count, as in {@link LeastConnections}.
 * - **Latency** is a moving average per member with a time constant (`decayMs`). Successes move
 *   it; a failure of the node (`penaltyCodes`: unreachable, timed out, or its handler threw)
 *   lifts it to at least `failurePenalty ×` the typical latency at once (the peak); a caller's
 *   mistakes and aborted calls are ignored.
 *   Between samples the estimate fades towards zero with the same time constant, so a member
 *   that was avoided is eventually tried again.
 * - **Prior**: a member without samples costs the mean of the known members' estimates when it
 *   joins (neutral); before anything is known, all members cost the same.
 * - **Slow start** (`slowStart`): a ramping member is kept out of the competition and handed
 *   `w(t) / n` of the picks (its fair share scaled by its weight), then competes normally.
 *
 * Cost: O(log n) per pick and per release. Because every estimate fades with the same
 * exponential, comparing costs at any time gives the same order as comparing
 * `ln latency + lastSampleAt / decayMs + ln(inFlight + 1)`, a key that changes only when that
 * member's state does, so members live in an indexed min-heap (see {@link CostHeap}).
 *
 * @example
 * ```ts
 * const lb = await node.startLoadBalancer({
 *   name: 'search',
 *   selectionAlgorithm: algorithms.LeastLoaded,
 *   algorithmOpts: { slowStart: { windowMs: 10_000 } },
 * });
 * await lb.call('Search', 'query', [q]);   // lb.call reports each call's latency and outcome
 * ```
 */
export class LeastLoaded implements SelectionAlgorithm {
  /** Skips `opts.exclude` itself, keeping every member's estimate (see `chooseExcluding`). */
  readonly honoursExclude = true;
  protected readonly random: () => number;
  protected readonly now: () => number;
  readonly #decayMs: number;
  readonly #penalty: number;
  readonly #codes: readonly RpcErrorCode[];
  readonly #peakSensitive: boolean;
  readonly #slowStart: SlowStart | undefined;
  readonly #heap = new CostHeap();
  #members: readonly string[] = EMPTY;
  #slotOf: Record<string, number> = Object.create(null);
  #inFlight = new Int32Array(0);
  #latency = new Float64Array(0);
  #stamp = new Float64Array(0);
  #samples = new Int32Array(0);
  /** `ln latency + (stamp - epoch) / decayMs` by slot: the key without count and tie-break */
  #base = new Float64Array(0);
  /** the pick count when each slot was last picked (the tie-break) */
  #lastPick = new Float64Array(0);
  #picks = 0;
  /** keys count time from here, so they stay small */
  #epoch = 0;
  /** slots kept out of the heap while they ramp */
  #ramping: number[] = [];
  #typical = 0;
  #typicalSamples = 0;

  /**
   * @param ctx - the balancer's context: `random` breaks ties, `now` times the averages,
   *   `options` as in {@link LeastLoadedOptions}.
   * @throws TypeError naming the option when one is out of range.
   */
  constructor(ctx: AlgorithmContext<LeastLoadedOptions>) {
    const o = resolveLeastLoaded(ctx.options);
    this.random = ctx.random;
    this.now = ctx.now;
    this.#decayMs = o.decayMs;
    this.#penalty = o.failurePenalty;
    this.#codes = o.penaltyCodes;
    this.#peakSensitive = o.peakSensitive;
    this.#slowStart = createSlowStart(o.slowStart, ctx.now);
  }

  /** Returns the member with the lowest expected wait and counts the selection. */
  chooseFromNodes(nodes: readonly string[], opts?: SelectOptions): string {
    if (nodes !== this.#members) this.#sync(nodes);
    const exclude = excludeOf(opts);
    if (exclude !== undefined) return this.chooseExcluding(nodes, exclude);
    const slowStart = this.#slowStart;
    const slot =
      slowStart !== undefined && (slowStart.size !== 0 || this.#ramping.length !== 0)
        ? this.#pickWithRamp()
        : this.#heap.top();
    this.acquireSlot(slot);
    return nodes[slot];
  }

  /**
   * With `exclude`: the cheapest member left (lowest key among those competing), else a random
   * one left (all of them ramping); counted like any pick. An O(n) scan, on the exclusion path
   * only. `nodes` must be the synced array.
   */
  protected chooseExcluding(nodes: readonly string[], exclude: readonly string[]): string {
    const heap = this.#heap;
    let slot = -1;
    for (let i = 0; i < nodes.length; i++) {
      if (!heap.has(i) || exclude.includes(nodes[i] as string)) continue;
      if (slot === -1 || heap.keyOf(i) < heap.keyOf(slot)) slot = i;
    }
    if (slot === -1) slot = randomAllowed(nodes, exclude, this.random);
    this.acquireSlot(slot);
    return nodes[slot] as string;
  }

  /** Counts the selection of `node` finished and learns from `outcome` when there is one. */
  releaseNode(node: string, outcome?: CallOutcome): void {
    const slot = this.#slotOf[node];
    if (slot === undefined) return;
    const count = this.#inFlight[slot];
    if (count === 0) return; // nothing to release: ignored, as the counters' contract says
    this.#inFlight[slot] = count - 1;
    if (outcome !== undefined) this.#observe(slot, outcome);
    this.#rekey(slot);
  }

  /** Adopts the new member list (ramping joiners first, so they start outside the competition). */
  onNodeChange(change: NodeChange): void {
    this.#slowStart?.onNodeChange(change);
    this.#sync(change.members);
  }

  /** Selections of `node` in flight; 0 for a non-member. */
  inFlight(node: string): number {
    const slot = this.#slotOf[node];
    return slot === undefined ? 0 : this.#inFlight[slot];
  }

  /** The current latency estimate of `node` in ms (faded to now), `undefined` for a non-member. */
  latencyEstimate(node: string): number | undefined {
    const slot = this.#slotOf[node];
    return slot === undefined ? undefined : this.latencyAt(slot);
  }

  /** The balancer's typical latency: the mean of its last ~100 successful calls (0 before any). */
  get typicalLatency(): number {
    return this.#typical;
  }

  /** The synced member array: slots are indices into it. */
  protected get members(): readonly string[] {
    return this.#members;
  }

  /** The slot of `node` in {@link LeastLoaded.members}, `undefined` for a non-member. */
  protected slotOf(node: string): number | undefined {
    return this.#slotOf[node];
  }

  /** Latency estimate of the member at `slot`, faded to now. */
  protected latencyAt(slot: number): number {
    return this.#latency[slot] * Math.exp(-(this.now() - this.#stamp[slot]) / this.#decayMs);
  }

  /** Counts one more selection of the member at `slot`. */
  protected acquireSlot(slot: number): void {
    this.#inFlight[slot]++;
    this.#lastPick[slot] = ++this.#picks;
    if (this.#picks >= REBASE_PICKS) this.#rebase();
    this.#rekey(slot);
  }

  /**
   * Moves the origin of time and of the pick count to now, so keys stay small (exact to ~1e-14)
   * however long the balancer runs; a tie-break older than one round is clamped. O(n log n),
   * once per million picks or 64 decay times.
   */
  #rebase(): void {
    const n = this.#members.length;
    const picks = this.#picks;
    for (let slot = 0; slot < n; slot++) {
      this.#lastPick[slot] = Math.max(this.#lastPick[slot] - picks, -n);
    }
    this.#picks = 0;
    this.#epoch = this.now();
    for (let slot = 0; slot < n; slot++) {
      this.#setBase(slot);
      this.#rekey(slot);
    }
  }

  /** Syncs to `nodes` if they are not the synced array (for subclasses that pick by name). */
  protected syncTo(nodes: readonly string[]): void {
    if (nodes !== this.#members) this.#sync(nodes);
  }

  /** Called after every re-sync: slots were renumbered (subclasses drop slot-keyed caches). */
  protected onSynced(): void {}

  /** `true` while the member at `slot` is ramping (slow start keeps it out of the competition). */
  protected isRamping(slot: number): boolean {
    return this.#ramping.length !== 0 && this.#ramping.includes(slot);
  }

  /**
   * The slow-start share of this pick: a ramping member's slot with probability `w / n` each,
   * else `undefined`. Always `undefined` without slow start or ramping members.
   */
  protected rampingPick(): number | undefined {
    const slowStart = this.#slowStart;
    if (slowStart === undefined || (slowStart.size === 0 && this.#ramping.length === 0)) {
      return undefined;
    }
    if (this.#ramping.length !== 0) this.#admitRamped(slowStart);
    const chosen = slowStart.chooseByShare(this.random() * this.#members.length);
    return chosen === undefined ? undefined : this.#slotOf[chosen];
  }

  #key(slot: number): number {
    const count = this.#inFlight[slot];
    const lnCount = count < LN_COUNT.length ? LN_COUNT[count] : Math.log(count + 1);
    return this.#base[slot] + lnCount + this.#lastPick[slot] * TIE_STEP;
  }

  /** Recomputes the part of `slot`'s key that only its latency, stamp or the epoch change. */
  #setBase(slot: number): void {
    const latency = Math.max(this.#latency[slot], MIN_LATENCY_MS);
    this.#base[slot] = Math.log(latency) + (this.#stamp[slot] - this.#epoch) / this.#decayMs;
  }

  #rekey(slot: number): void {
    if (this.#heap.has(slot)) this.#heap.set(slot, this.#key(slot));
  }

  #observe(slot: number, outcome: CallOutcome): void {
    const latency = outcome.latencyMs;
    if (!(latency >= 0) || latency === Number.POSITIVE_INFINITY) return;
    // the balancer's reading of the clock when the call ended (or the load trailer's stamp on
    // arrival): reuse it, a clock read costs more than the rest of the update
    const arrived = outcome.at ?? outcome.load?.at;
    const now = typeof arrived === 'number' ? arrived : this.now();
    if (now - this.#epoch > REBASE_DECAYS * this.#decayMs) this.#rebase();
    const previous = this.#latency[slot];
    const k = this.#samples[slot];
    if (!outcome.ok) {
      const code = failureCode(outcome);
      if (code === undefined || !this.#codes.includes(code)) return; // aborted, or the caller's
      const typical = this.#typical > 0 ? this.#typical : Math.max(latency, NO_INFO_PRIOR_MS);
      const penalty = Math.max(latency, this.#penalty * typical);
      this.#latency[slot] = k === 0 ? penalty : Math.max(previous, penalty);
      this.#samples[slot] = Math.max(k, 1);
      this.#stamp[slot] = now;
      this.#setBase(slot);
      return;
    }
    this.#learnTypical(latency, now);
    if (k === 0) {
      this.#latency[slot] = latency;
    } else if (this.#peakSensitive && latency > previous) {
      this.#latency[slot] = latency;
    } else {
      // time-weighted average; over the first samples a plain mean, so one early outlier does
      // not stick for a whole decay time
      const weight = Math.max(
        1 - Math.exp(-(now - this.#stamp[slot]) / this.#decayMs),
        1 / (k + 1),
      );
      this.#latency[slot] = previous + weight * (latency - previous);
    }
    if (k < MAX_SAMPLES) this.#samples[slot] = k + 1;
    this.#stamp[slot] = now;
    this.#setBase(slot);
  }

  #learnTypical(latency: number, now: number): void {
    const n = this.#typicalSamples;
    this.#typical += (latency - this.#typical) / Math.min(n + 1, TYPICAL_WINDOW);
    this.#typicalSamples = n + 1;
    if (n !== 0) return;
    // the first latency known: members still without samples cost that much, not the 1 ms
    // placeholder, so a slow first member does not collect a burst before its first reply
    for (let slot = 0; slot < this.#members.length; slot++) {
      if (this.#samples[slot] !== 0) continue;
      this.#latency[slot] = latency;
      this.#stamp[slot] = now;
      this.#setBase(slot);
      this.#rekey(slot);
    }
  }

  #pickWithRamp(): number {
    const slot = this.rampingPick();
    if (slot !== undefined) return slot;
    return this.#heap.size > 0 ? this.#heap.top() : this.#cheapestRamping();
  }

  /** Members whose ramp is over join the competition. */
  #admitRamped(slowStart: SlowStart): void {
    const still: number[] = [];
    for (const slot of this.#ramping) {
      if (slowStart.weight(this.#members[slot]) < 1) still.push(slot);
      else this.#heap.set(slot, this.#key(slot));
    }
    this.#ramping = still;
  }

  /** Every member is ramping (all the established ones left): the cheapest of them. */
  #cheapestRamping(): number {
    let best = this.#ramping[0];
    for (const slot of this.#ramping) {
      const cost = (this.#inFlight[slot] + 1) * this.latencyAt(slot);
      if (cost < (this.#inFlight[best] + 1) * this.latencyAt(best)) best = slot;
    }
    return best;
  }

  /**
   * Adopts `nodes`: members that stay keep their state, new members start at the neutral prior,
   * departed members' state is dropped. O(n log n), on membership changes only.
   */
  #sync(nodes: readonly string[]): void {
    const n = nodes.length;
    const now = this.now();
    const prior = this.#prior();
    const slotOf: Record<string, number> = Object.create(null);
    const inFlight = new Int32Array(n);
    const latency = new Float64Array(n);
    const stamp = new Float64Array(n);
    const samples = new Int32Array(n);
    const lastPick = new Float64Array(n);
    for (let slot = 0; slot < n; slot++) {
      const name = nodes[slot];
      slotOf[name] = slot;
      const old = this.#slotOf[name];
      if (old === undefined) {
        latency[slot] = prior;
        stamp[slot] = now;
        // a random place in the round among equal costs, so balancers do not move in step
        lastPick[slot] = this.#picks - n * this.random();
        continue;
      }
      lastPick[slot] = this.#lastPick[old];
      inFlight[slot] = this.#inFlight[old];
      latency[slot] = this.#latency[old];
      stamp[slot] = this.#stamp[old];
      samples[slot] = this.#samples[old];
    }
    this.#members = nodes;
    this.#slotOf = slotOf;
    this.#inFlight = inFlight;
    this.#latency = latency;
    this.#stamp = stamp;
    this.#samples = samples;
    this.#lastPick = lastPick;
    if ((now - this.#epoch) / this.#decayMs > REBASE_DECAYS) this.#epoch = now;
    this.#base = new Float64Array(n);
    for (let slot = 0; slot < n; slot++) this.#setBase(slot);
    this.#heap.reset(n);
    this.#ramping = [];
    for (let slot = 0; slot < n; slot++) {
      if (this.#slowStart !== undefined && this.#slowStart.weight(nodes[slot]) < 1) {
        this.#ramping.push(slot);
      } else {
        this.#heap.set(slot, this.#key(slot));
      }
    }
    this.onSynced();
  }

  /**
   * The prior of a new member: the mean current estimate of the members with samples; else of
   * all members (their placeholders, faded alike); else the typical latency or the placeholder.
   */
  #prior(): number {
    let sumKnown = 0;
    let known = 0;
    let sumAll = 0;
    const n = this.#members.length;
    for (let slot = 0; slot < n; slot++) {
      const estimate = this.latencyAt(slot);
      sumAll += estimate;
      if (this.#samples[slot] === 0) continue;
      sumKnown += estimate;
      known++;
    }
    if (known > 0) return sumKnown / known;
    if (n > 0) return sumAll / n;
    return this.#typical > 0 ? this.#typical : NO_INFO_PRIOR_MS;
  }
}
