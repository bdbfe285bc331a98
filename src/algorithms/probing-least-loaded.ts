import { excludeOf } from './exclude.js';
import { LeastLoaded, type LeastLoadedOptions } from './least-loaded.js';
import { normaliseLoad, outcomeLoad, probeOf } from './outcome.js';
import type { AlgorithmContext, CallOutcome, SelectOptions, ServerLoad } from './types.js';
import { optionalNumber, requirePositiveInteger } from './validate.js';

/** Options of {@link ProbingLeastLoaded}: those of {@link LeastLoaded}, plus probing. */
export interface ProbingLeastLoadedOptions extends LeastLoadedOptions {
  /**
   * How many members' load a pick wants fresh: `probeTargets` asks for this many minus the
   * fresh results already at hand, and a pick without fresh results sends this many
   * asynchronous probes for the picks after it.
   * @default 3
   */
  probes?: number;
  /**
   * How long a probe result stays usable, in ms. By default a tenth of the balancer's typical
   * latency (at least 0.1 ms): long enough for the results of one probe round to serve picks
   * made in quick succession at high rates, short enough that a server's queue has not moved on.
   * @default typical latency / 10
   */
  probeTtlMs?: number;
  /**
   * How many picks one probe result may serve (each use counts one more call in flight there).
   * @default 1
   */
  probeMaxUses?: number;
  /**
   * Pool the load carried by reply trailers (`outcome.load`) like probe answers. At high rates
   * they keep the pool fresh and save probes.
   * @default true
   */
  useReplyLoad?: boolean;
}

/** Default {@link ProbingLeastLoadedOptions.probes}. */
export const DEFAULT_PROBES = 3;
/** Default {@link ProbingLeastLoadedOptions.probeMaxUses}. */
export const DEFAULT_PROBE_MAX_USES = 1;
/** Most probe results kept at once (Prequal's pool size). */
const POOL_SIZE = 16;
/** Floor of the adaptive probe age, ms. */
const MIN_PROBE_AGE_MS = 0.1;
const NO_TARGETS: readonly string[] = Object.freeze([]);

/**
 * {@link LeastLoaded} with server load probes: a pick compares members by the load their servers
 * reported a moment ago (all callers' calls, not only this balancer's), times this balancer's
 * latency estimate: `(reported in flight + my picks since + 1) × latency`.
 *
 * Two ways of getting fresh reports, with the pick itself always synchronous:
 *
 * - **Probe before pick** (`probeTargets`): a balancer that can wait (`lb.call`) asks which
 *   members to probe, sends the probes, waits for the answers (one round trip), then picks among
 *   the fresh results. This is what keeps the tail short with many callers (20–100 in the
 *   simulator: 1.2× the oracle where local rules stay at 1.5–2.2×); it costs a round trip and
 *   `probes` messages per call, fewer at high rates, where the results of one probe round serve
 *   the picks that follow within `probeTtlMs`.
 * - **Asynchronous pool** (Prequal's way): a pick that finds no fresh result sends `probes`
 *   probes for the picks after it and falls back to {@link LeastLoaded}'s own rule. This is what
 *   `selectNode` gets; it only helps a caller whose picks come faster than queues change.
 *
 * Reply trailers (`outcome.load`) are used like probe answers. Slow start, failure penalties and
 * the latency average are {@link LeastLoaded}'s. Cost: O(pool size ≤ 16) per pick.
 *
 * @example
 * ```ts
 * await node.startLoadBalancer({
 *   name: 'api',
 *   selectionAlgorithm: algorithms.ProbingLeastLoaded,
 *   algorithmOpts: { probes: 3 },
 * });
 * ```
 */
export class ProbingLeastLoaded extends LeastLoaded {
  readonly #probe: ((node: string) => void) | undefined;
  readonly #probes: number;
  readonly #maxAgeMs: number | undefined;
  readonly #maxUses: number;
  readonly #useReplyLoad: boolean;
  /** slots with a result, in no particular order */
  readonly #pool = new Int32Array(POOL_SIZE);
  #poolSize = 0;
  /** by slot: 1 while in the pool */
  #inPool = new Uint8Array(0);
  #reported = new Float64Array(0);
  #reportedAt = new Float64Array(0);
  #uses = new Int32Array(0);
  /** by slot: the draw that last took it, so a draw never takes a member twice */
  #drawn = new Uint32Array(0);
  #draw = 0;

  /**
   * @param ctx - the balancer's context; `ctx.probe` (or `ctx.options.probe`) sends probes.
   * @throws TypeError naming the option when one is out of range.
   */
  constructor(ctx: AlgorithmContext<ProbingLeastLoadedOptions>) {
    super(ctx);
    const o = ctx.options ?? {};
    this.#probe = probeOf(ctx);
    this.#probes =
      o.probes === undefined ? DEFAULT_PROBES : requirePositiveInteger('probes', o.probes, 16);
    this.#maxAgeMs =
      o.probeTtlMs === undefined
        ? undefined
        : optionalNumber('probeTtlMs', o.probeTtlMs, 0, 0, Number.POSITIVE_INFINITY);
    this.#maxUses =
      o.probeMaxUses === undefined
        ? DEFAULT_PROBE_MAX_USES
        : requirePositiveInteger('probeMaxUses', o.probeMaxUses, 1_000);
    this.#useReplyLoad = o.useReplyLoad !== false;
  }

  /** Members to probe before the next pick: none when enough fresh results are at hand. */
  probeTargets(nodes: readonly string[], _opts?: SelectOptions): readonly string[] {
    this.syncTo(nodes);
    const need = Math.min(this.#probes, nodes.length) - this.#prune();
    if (need <= 0) return NO_TARGETS;
    const targets: string[] = [];
    this.#drawUnprobed(nodes, need, (node) => targets.push(node));
    return targets;
  }

  /** Picks the cheapest member by fresh reports, else as {@link LeastLoaded} does. */
  override chooseFromNodes(nodes: readonly string[], opts?: SelectOptions): string {
    this.syncTo(nodes);
    // with exclusions, by the latency estimates alone (the reports serve the usual picks)
    const exclude = excludeOf(opts);
    if (exclude !== undefined) return this.chooseExcluding(nodes, exclude);
    const ramping = this.rampingPick();
    if (ramping !== undefined) {
      this.acquireSlot(ramping);
      return nodes[ramping];
    }
    const slot = this.#prune() > 0 ? this.#cheapestReported() : -1;
    if (slot < 0) {
      const probe = this.#probe;
      if (probe !== undefined) this.#drawUnprobed(nodes, this.#probes, probe);
      return super.chooseFromNodes(nodes, opts);
    }
    this.#reported[slot]++; // my pick is one more call there
    this.#uses[slot]++;
    this.acquireSlot(slot);
    return nodes[slot];
  }

  /** Records a probe answer. */
  onProbeResult(node: string, load: ServerLoad): void {
    const normal = normaliseLoad(load, this.now());
    if (normal !== undefined) this.#record(node, normal);
  }

  /** Counts the selection finished, learns its latency, and records a load trailer as a report. */
  override releaseNode(node: string, outcome?: CallOutcome): void {
    super.releaseNode(node, outcome);
    if (!this.#useReplyLoad) return;
    const load = outcomeLoad(outcome, this.now);
    if (load !== undefined) this.#record(node, load);
  }

  /**
   * Records probe answers collected by the caller, then picks: the same as
   * {@link ProbingLeastLoaded.onProbeResult} for each and {@link ProbingLeastLoaded.chooseFromNodes}
   * on the members last given to `probeTargets`. For balancers that gather the answers
   * themselves, and the simulator's probe-before-pick mode (which passes queue lengths).
   */
  chooseFromProbes(targets: readonly string[], loads: ReadonlyArray<ServerLoad | number>): string {
    const now = this.now();
    for (let i = 0; i < targets.length; i++) {
      const load = loads[i];
      const normal = normaliseLoad(typeof load === 'number' ? { queue: load } : load, now);
      if (normal !== undefined) this.#record(targets[i], { ...normal, at: now });
    }
    return this.chooseFromNodes(this.members);
  }

  protected override onSynced(): void {
    const n = this.members.length;
    this.#poolSize = 0;
    this.#inPool = new Uint8Array(n);
    this.#reported = new Float64Array(n);
    this.#reportedAt = new Float64Array(n);
    this.#uses = new Int32Array(n);
    this.#drawn = new Uint32Array(n);
    this.#draw = 0;
  }

  #record(node: string, load: ServerLoad): void {
    const slot = this.slotOf(node);
    if (slot === undefined) return;
    if (this.#inPool[slot] === 1) {
      if (this.#reportedAt[slot] > load.at) return; // an older report arriving late
    } else {
      if (this.#poolSize === POOL_SIZE) this.#evictOldest();
      this.#pool[this.#poolSize++] = slot;
      this.#inPool[slot] = 1;
    }
    this.#reported[slot] = load.inFlight;
    this.#reportedAt[slot] = load.at;
    this.#uses[slot] = 0;
  }

  #evictOldest(): void {
    let oldest = 0;
    for (let i = 1; i < this.#poolSize; i++) {
      if (this.#reportedAt[this.#pool[i]] < this.#reportedAt[this.#pool[oldest]]) oldest = i;
    }
    this.#inPool[this.#pool[oldest]] = 0;
    this.#pool[oldest] = this.#pool[--this.#poolSize];
  }

  /** Drops stale and used-up results; returns how many usable ones remain. */
  #prune(): number {
    const size = this.#poolSize;
    if (size === 0) return 0;
    const pool = this.#pool;
    const oldest = this.now() - this.#maxAge();
    let kept = 0;
    for (let i = 0; i < size; i++) {
      const slot = pool[i];
      if (this.#reportedAt[slot] >= oldest && this.#uses[slot] < this.#maxUses) pool[kept++] = slot;
      else this.#inPool[slot] = 0;
    }
    this.#poolSize = kept;
    return kept;
  }

  #maxAge(): number {
    return this.#maxAgeMs ?? Math.max(MIN_PROBE_AGE_MS, this.typicalLatency / 10);
  }

  /** The pooled member with the lowest `(reported + 1) × latency`, ramping members excluded. */
  #cheapestReported(): number {
    let best = -1;
    let bestCost = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.#poolSize; i++) {
      const slot = this.#pool[i];
      if (this.isRamping(slot)) continue;
      const cost = (this.#reported[slot] + 1) * this.latencyAt(slot) * (1 + this.random() * 1e-9);
      if (cost < bestCost) {
        bestCost = cost;
        best = slot;
      }
    }
    return best;
  }

  /**
   * Hands up to `count` distinct random members without a pooled result (ramping ones excluded)
   * to `take`. Allocation-free: members drawn are marked with the draw's number.
   */
  #drawUnprobed(nodes: readonly string[], count: number, take: (node: string) => void): void {
    const n = nodes.length;
    const want = Math.min(count, n);
    let draw = ++this.#draw;
    if (draw === 0xffffffff) {
      this.#drawn.fill(0);
      this.#draw = draw = 1;
    }
    let taken = 0;
    for (let tries = 0; taken < want && tries < 4 * want + 8; tries++) {
      const slot = Math.floor(this.random() * n);
      if (this.#inPool[slot] === 1 || this.#drawn[slot] === draw || this.isRamping(slot)) continue;
      this.#drawn[slot] = draw;
      take(nodes[slot]);
      taken++;
    }
  }
}
