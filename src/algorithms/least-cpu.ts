import { excludeOf } from './exclude.js';
import { normaliseLoad, outcomeLoad, probeOf } from './outcome.js';
import type {
  AlgorithmContext,
  CallOutcome,
  NodeChange,
  SelectionAlgorithm,
  SelectOptions,
  ServerLoad,
} from './types.js';
import { optionalNumber } from './validate.js';

/** Options of {@link LeastCpu} (the Elixir library's `poll_interval`, `cpu_cache_ttl`, `cpu_threshold`). */
export interface LeastCpuOptions {
  /**
   * How often members that have not been heard from are probed for their load, in ms.
   * @default 5_000
   */
  pollIntervalMs?: number;
  /**
   * A reading older than this counts as missing, in ms.
   * @default 10_000
   */
  staleAfterMs?: number;
  /**
   * Width of the "close enough" band above the lowest reading, in percentage points.
   * @default 5
   */
  thresholdPercent?: number;
}

/** Default {@link LeastCpuOptions.pollIntervalMs}. */
export const DEFAULT_CPU_POLL_INTERVAL_MS = 5_000;
/** Default {@link LeastCpuOptions.staleAfterMs}. */
export const DEFAULT_CPU_STALE_AFTER_MS = 10_000;
/** Default {@link LeastCpuOptions.thresholdPercent}. */
export const DEFAULT_CPU_THRESHOLD_PERCENT = 5;
/** What a missing or stale reading counts as, in percent (the Elixir library's default). */
export const MISSING_CPU_PERCENT = 50;
/**
 * After new readings the O(n) band is rebuilt once the picks since the last rebuild have paid
 * for all but {@link BAND_FREE_MEMBERS} of it at this many members each, or
 * {@link BAND_REFRESH_MS} has passed: with few members at once (a stale band herds every pick
 * onto it), with 1 000 every ~250 picks.
 */
const BAND_MEMBERS_PER_PICK = 4;
/** Members a rebuild may cost without waiting for picks to pay for it. */
const BAND_FREE_MEMBERS = 16;
/** The longest a band lags behind new readings, in ms (a server samples its ELU every 100 ms). */
const BAND_REFRESH_MS = 100;
const EMPTY: readonly string[] = Object.freeze([]);

/**
 * Least CPU, after the Elixir library rpc_load_balancer: picks uniformly at random among the
 * members whose reported CPU — in Node.js the server's event-loop utilisation (ELU) — is within
 * `thresholdPercent` points of the lowest reading.
 *
 * - **Readings** come from the load in reply trailers (`outcome.load.elu`) and from probes.
 *   There are no timers here: when `pollIntervalMs` has passed, the next pick probes (through
 *   `ctx.probe`) every member not heard from within the interval, i.e. not recently called.
 * - **Missing or stale** readings (older than `staleAfterMs`) count as 50 %, so a member nobody
 *   has heard from is neither favoured nor shunned.
 * - The random choice within the band spreads load among equally idle members instead of
 *   herding onto the single lowest reading, which every caller would see at once.
 *
 * Cost: O(1) amortised per pick: a random index into the band, which is rebuilt in O(n) after
 * new readings once the picks since the last rebuild have paid 4 members' worth each (at once
 * with up to 16 members) or 100 ms have passed, when a reading goes stale, or on membership
 * changes.
 *
 * @example
 * ```ts
 * await node.startLoadBalancer({
 *   name: 'reports',
 *   selectionAlgorithm: algorithms.LeastCpu,
 *   algorithmOpts: { pollIntervalMs: 5_000, staleAfterMs: 10_000, thresholdPercent: 5 },
 * });
 * ```
 */
export class LeastCpu implements SelectionAlgorithm {
  /** Skips `opts.exclude` itself: the band without the excluded members, else the least loaded left. */
  readonly honoursExclude = true;
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #probe: ((node: string) => void) | undefined;
  readonly #pollIntervalMs: number;
  readonly #staleAfterMs: number;
  readonly #threshold: number;
  #members: readonly string[] = EMPTY;
  #slotOf: Record<string, number> = Object.create(null);
  /** reading in percent by slot */
  #cpu = new Float64Array(0);
  /** when each reading arrived; -Infinity for none */
  #at = new Float64Array(0);
  #band = new Int32Array(0);
  #bandSize = 0;
  #bandBuiltAt = Number.NEGATIVE_INFINITY;
  #picksSinceBuild = 0;
  /** the band is out of date: new readings or members */
  #dirty = true;
  /** the earliest time a fresh reading goes stale and changes the band */
  #nextStaleAt = Number.POSITIVE_INFINITY;
  #nextPollAt = Number.NEGATIVE_INFINITY;

  /**
   * @param ctx - the balancer's context; `ctx.probe` (or `ctx.options.probe`) polls members.
   * @throws TypeError naming the option when one is out of range.
   */
  constructor(ctx: AlgorithmContext<LeastCpuOptions>) {
    const o = ctx.options ?? {};
    const inf = Number.POSITIVE_INFINITY;
    this.#random = ctx.random;
    this.#now = ctx.now;
    this.#probe = probeOf(ctx);
    this.#pollIntervalMs = optionalNumber(
      'pollIntervalMs',
      o.pollIntervalMs,
      DEFAULT_CPU_POLL_INTERVAL_MS,
      1,
      inf,
    );
    this.#staleAfterMs = optionalNumber(
      'staleAfterMs',
      o.staleAfterMs,
      DEFAULT_CPU_STALE_AFTER_MS,
      1,
      inf,
    );
    this.#threshold = optionalNumber(
      'thresholdPercent',
      o.thresholdPercent,
      DEFAULT_CPU_THRESHOLD_PERCENT,
      0,
      100,
    );
  }

  /** Returns a random member of the band of least loaded members. */
  chooseFromNodes(nodes: readonly string[], opts?: SelectOptions): string {
    if (nodes !== this.#members) this.#sync(nodes);
    const now = this.#now();
    if (now >= this.#nextPollAt) this.#poll(now);
    if (now >= this.#nextStaleAt || (this.#dirty && this.#bandDue(now))) this.#buildBand(now);
    this.#picksSinceBuild++;
    const exclude = excludeOf(opts);
    if (exclude !== undefined) return nodes[this.#chooseExcluding(nodes, exclude, now)] as string;
    return nodes[this.#band[Math.floor(this.#random() * this.#bandSize)]];
  }

  /**
   * With `exclude`: a random member of the band that is not excluded, else the least loaded
   * member left (an O(n) scan, on the exclusion path only).
   */
  #chooseExcluding(nodes: readonly string[], exclude: readonly string[], now: number): number {
    let chosen = -1;
    let seen = 0;
    for (let i = 0; i < this.#bandSize; i++) {
      const slot = this.#band[i] as number;
      if (!exclude.includes(nodes[slot] as string) && this.#random() * ++seen < 1) chosen = slot;
    }
    if (chosen !== -1) return chosen;
    for (let slot = 0; slot < nodes.length; slot++) {
      if (exclude.includes(nodes[slot] as string)) continue;
      if (chosen === -1 || this.#effective(slot, now) < this.#effective(chosen, now)) chosen = slot;
    }
    if (chosen === -1) throw new RangeError('every member is excluded');
    return chosen;
  }

  /** Records the load a reply carried. */
  releaseNode(node: string, outcome?: CallOutcome): void {
    const load = outcomeLoad(outcome, this.#now);
    if (load !== undefined) this.#record(node, load);
  }

  /** Records a probe's answer. */
  onProbeResult(node: string, load: ServerLoad): void {
    const normal = normaliseLoad(load, this.#now());
    if (normal !== undefined) this.#record(node, normal);
  }

  /** Adopts the new member list (readings of members that stay are kept). */
  onNodeChange(change: NodeChange): void {
    this.#sync(change.members);
  }

  /** The reading of `node` used now, in percent: its report, or 50 when missing or stale. */
  cpuPercent(node: string): number | undefined {
    const slot = this.#slotOf[node];
    return slot === undefined ? undefined : this.#effective(slot, this.#now());
  }

  #bandDue(now: number): boolean {
    return (
      this.#picksSinceBuild * BAND_MEMBERS_PER_PICK + BAND_FREE_MEMBERS >= this.#members.length ||
      now - this.#bandBuiltAt >= BAND_REFRESH_MS
    );
  }

  #effective(slot: number, now: number): number {
    return now - this.#at[slot] <= this.#staleAfterMs ? this.#cpu[slot] : MISSING_CPU_PERCENT;
  }

  #record(node: string, load: ServerLoad): void {
    const slot = this.#slotOf[node];
    if (slot === undefined || load.at < this.#at[slot]) return;
    this.#cpu[slot] = load.elu * 100;
    this.#at[slot] = load.at;
    this.#dirty = true;
  }

  /** Probes every member not heard from within the poll interval. */
  #poll(now: number): void {
    this.#nextPollAt = now + this.#pollIntervalMs;
    if (this.#probe === undefined) return;
    for (let slot = 0; slot < this.#members.length; slot++) {
      if (now - this.#at[slot] >= this.#pollIntervalMs) this.#probe(this.#members[slot]);
    }
  }

  #buildBand(now: number): void {
    const n = this.#members.length;
    let min = Number.POSITIVE_INFINITY;
    for (let slot = 0; slot < n; slot++) min = Math.min(min, this.#effective(slot, now));
    let size = 0;
    let nextStale = Number.POSITIVE_INFINITY;
    for (let slot = 0; slot < n; slot++) {
      if (this.#effective(slot, now) <= min + this.#threshold) this.#band[size++] = slot;
      const staleAt = this.#at[slot] + this.#staleAfterMs;
      if (staleAt >= now && staleAt < nextStale) nextStale = staleAt;
    }
    this.#bandSize = size;
    this.#bandBuiltAt = now;
    this.#picksSinceBuild = 0;
    this.#nextStaleAt = nextStale;
    this.#dirty = false;
  }

  #sync(nodes: readonly string[]): void {
    const n = nodes.length;
    const slotOf: Record<string, number> = Object.create(null);
    const cpu = new Float64Array(n);
    const at = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
    for (let slot = 0; slot < n; slot++) {
      slotOf[nodes[slot]] = slot;
      const old = this.#slotOf[nodes[slot]];
      if (old === undefined) continue;
      cpu[slot] = this.#cpu[old];
      at[slot] = this.#at[old];
    }
    this.#members = nodes;
    this.#slotOf = slotOf;
    this.#cpu = cpu;
    this.#at = at;
    this.#band = new Int32Array(n);
    this.#buildBand(this.#now());
  }
}
