/**
 * Per-member bookkeeping of a load balancer, for `lb.inspect()` and `node.inspect()`: selections
 * in flight, calls, errors, the latencies of the last calls and the last load the member
 * reported. Updated where the balancer selects and releases a member, so it must stay O(1) and
 * allocation-free per call: counters and a fixed ring of latencies, written in place. Everything
 * derived (percentiles, ages) is computed only when a snapshot is taken.
 */
import type { CallOutcome, ServerLoad } from '../algorithms/types.js';

/** How many recent latencies each member keeps (the percentiles are over these). */
export const LATENCY_RING_SIZE = 128;

/** Percentiles of a member's recent call latencies, in ms. */
export interface LatencySnapshot {
  /** How many latencies these figures are over (at most {@link LATENCY_RING_SIZE}). */
  readonly samples: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** A load the member reported, as a snapshot shows it. */
export interface LoadSnapshot {
  /** Calls the member was serving. */
  readonly inFlight: number;
  /** The member's event-loop utilisation, 0 to 1. */
  readonly elu: number;
  /** How long ago it was reported, in ms. */
  readonly ageMs: number;
}

/** One member of a balancer, as `lb.inspect()` shows it. */
export interface MemberSnapshot {
  /** The member's node name. */
  readonly node: string;
  /** Selections of this member not yet released (calls this balancer has in flight on it). */
  readonly inFlight: number;
  /** Calls (and casts) released with an outcome since the member joined. */
  readonly calls: number;
  /** Of those, the ones that failed. */
  readonly errors: number;
  /** Percentiles of the latest calls' latencies; absent before the first call. */
  readonly latencyMs?: LatencySnapshot;
  /** The last load the member reported with a reply; absent when none did. */
  readonly load?: LoadSnapshot;
}

/** A load balancer, as `lb.inspect()` shows it. */
export interface BalancerSnapshot {
  readonly name: string;
  /** The algorithm's class name. */
  readonly algorithm: string;
  /** `true` once `stop()` was called. */
  readonly stopped: boolean;
  /** `lb.call`s and `lb.cast`s of this balancer not yet settled. */
  readonly inFlight: number;
  /** The members, sorted by name. */
  readonly members: readonly MemberSnapshot[];
  /** The members outlier detection has ejected now, sorted (`lb.ejected()`). */
  readonly ejected: readonly string[];
}

/** The running figures of one member, for one membership generation. */
export class MemberStats {
  /** Selections not yet released. */
  inFlight = 0;
  /** Releases with an outcome. */
  calls = 0;
  /** Releases with a failed outcome. */
  errors = 0;
  /** The last reported load (the outcome's own object; not copied). */
  load: ServerLoad | undefined;
  readonly #latencies = new Float64Array(LATENCY_RING_SIZE);
  #next = 0;
  #filled = 0;

  /** The member was selected. */
  selected(): void {
    this.inFlight++;
  }

  /** A selection of the member ended; `outcome` when the call's result is known. */
  released(outcome: CallOutcome | undefined): void {
    if (this.inFlight > 0) this.inFlight--;
    if (outcome === undefined) return;
    this.calls++;
    if (!outcome.ok) this.errors++;
    const latency = outcome.latencyMs;
    if (latency >= 0) {
      this.#latencies[this.#next] = latency;
      this.#next = (this.#next + 1) % LATENCY_RING_SIZE;
      if (this.#filled < LATENCY_RING_SIZE) this.#filled++;
    }
    if (outcome.load !== undefined) this.load = outcome.load;
  }

  /** A plain, serialisable view; `now` is the clock loads were stamped with. */
  snapshot(node: string, now: number): MemberSnapshot {
    const snapshot: {
      -readonly [K in keyof MemberSnapshot]: MemberSnapshot[K];
    } = { node, inFlight: this.inFlight, calls: this.calls, errors: this.errors };
    if (this.#filled > 0) snapshot.latencyMs = percentiles(this.#latencies, this.#filled);
    const load = this.load;
    if (load !== undefined) {
      snapshot.load = {
        inFlight: load.inFlight,
        elu: load.elu,
        ageMs: Math.max(0, Math.round(now - load.at)),
      };
    }
    return snapshot;
  }
}

/** The snapshot of a balancer: its members' figures (zeros for one without any yet). */
export function balancerSnapshot(
  balancer: {
    readonly name: string;
    readonly algorithm: string;
    readonly stopped: boolean;
    readonly ejected: readonly string[];
  },
  inFlight: number,
  members: readonly string[],
  stats: ReadonlyMap<string, MemberStats>,
  now: number,
): BalancerSnapshot {
  return {
    name: balancer.name,
    algorithm: balancer.algorithm,
    stopped: balancer.stopped,
    inFlight,
    members: members.map(
      (node) => stats.get(node)?.snapshot(node, now) ?? { node, inFlight: 0, calls: 0, errors: 0 },
    ),
    ejected: balancer.ejected,
  };
}

/** Nearest-rank percentiles of the first `count` values of `ring`. */
function percentiles(ring: Float64Array, count: number): LatencySnapshot {
  const sorted = ring.slice(0, count).sort();
  const at = (q: number) => round(sorted[Math.min(count - 1, Math.ceil(q * count) - 1)] as number);
  return {
    samples: count,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: round(sorted[count - 1] as number),
  };
}

/** Milliseconds to the microsecond: more digits would only be noise. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
