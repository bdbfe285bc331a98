/**
 * Passive health checking for a balancer (Envoy's outlier detection): members whose calls keep
 * failing in ways that mean "this node is unhealthy" are ejected — left out of the member list
 * the algorithm chooses from — for a while, whatever the algorithm (custom ones included).
 *
 * Pure and clock-injected: no timers. Interval work (the failure-rate detectors, the decay of the
 * ejection multiplier) runs lazily on the first call after an interval has passed, and ejections
 * end on the first `filter` after their time is up.
 */
import { isUnhealthyFailure } from '../algorithms/outcome.js';
import type { CallOutcome } from '../algorithms/types.js';
import type { RpcErrorCode } from '../errors.js';
import {
  type OutlierDetectionOptions,
  type ResolvedOutlierDetection,
  resolveOutlierDetection,
} from './outlier-options.js';

export type { OutlierDetectionOptions } from './outlier-options.js';

/** Why a member was ejected. */
export type EjectionReason = 'consecutive_failures' | 'failure_percentage' | 'success_rate';

/** What the detector tells its listener (metrics, logs, traces). */
export type OutlierEvent =
  | {
      type: 'eject';
      node: string;
      reason: EjectionReason;
      durationMs: number;
      timesEjected: number;
    }
  | { type: 'return'; node: string };

interface Health {
  consecutive: number;
  ok: number;
  failed: number;
  /** `now()` at which the ejection ends; 0 when not ejected */
  ejectedUntil: number;
  timesEjected: number;
}

const NEVER = Number.POSITIVE_INFINITY;

/**
 * Outlier ejection for one balancer.
 *
 * The balancer calls {@link OutlierDetector.record} with the outcome of every call it made,
 * {@link OutlierDetector.filter} on every pick to get the members the algorithm may choose from,
 * and {@link OutlierDetector.sync} on every membership change.
 *
 * - Only failures that mean the node is unhealthy count (`isUnhealthyFailure`:
 *   `service_unavailable`, `request_timeout` by default); other failures are ignored.
 * - **Consecutive failures**: `consecutiveFailures` in a row eject the member.
 * - **Failure percentage** (per interval): members with at least `requestVolume` counted calls
 *   and at least `threshold` % of them failed are ejected, when `minimumHosts` members qualify.
 * - **Success rate** (per interval): members whose success rate is below the mean minus
 *   `stdevFactor` standard deviations are ejected, when `minimumHosts` members qualify.
 * - An ejection lasts `baseEjectionTimeMs × times ejected` (capped at `maxEjectionTimeMs`); the
 *   multiplier drops by one for every interval the member spends in the pool.
 * - At most `maxEjectionPercent` of the members are ejected at once (at least one may be).
 * - **Panic**: when fewer than `panicThresholdPercent` of the members are healthy, `filter`
 *   returns all of them — better to try a suspect member than to overload the few left.
 *
 * @example
 * ```ts
 * const detector = new OutlierDetector({}, () => performance.now());
 * detector.sync(members);
 * const candidates = detector.filter(members);        // before each pick
 * detector.record(node, { ok: false, latencyMs: 3, code: 'service_unavailable' });
 * ```
 */
export class OutlierDetector {
  readonly #now: () => number;
  readonly #options: ResolvedOutlierDetection;
  readonly #listener: ((event: OutlierEvent) => void) | undefined;
  readonly #health = new Map<string, Health>();
  #members: readonly string[] = [];
  #ejectedCount = 0;
  #nextReturnAt = NEVER;
  #nextSweepAt: number;
  #filteredFor: readonly string[] | undefined;
  #filtered: readonly string[] = [];
  /** The ejected members of `#filteredFor`, kept with `#filtered`. */
  #ejectedOf: readonly string[] = [];
  #version = 0;
  #filteredVersion = -1;

  /**
   * @param options - see {@link OutlierDetectionOptions}; Envoy's defaults where absent
   * @param now - the balancer's millisecond clock
   * @param listener - told of every ejection and return
   * @throws TypeError naming the option when one is out of range.
   */
  constructor(
    options: OutlierDetectionOptions,
    now: () => number,
    listener?: (event: OutlierEvent) => void,
  ) {
    this.#options = resolveOutlierDetection(options);
    this.#now = now;
    this.#listener = listener;
    this.#nextSweepAt = now() + this.#options.intervalMs;
  }

  /**
   * Counts the outcome of a call to `node`; may eject it. Ignores non-members. `now`: the
   * clock's reading, when the caller has one at hand (one clock read less per call).
   */
  record(node: string, outcome: CallOutcome | undefined, now?: number): void {
    const health = this.#health.get(node);
    if (health === undefined || outcome === undefined) return;
    now ??= this.#now();
    if (now >= this.#nextSweepAt) this.#sweep(now);
    if (outcome.ok) {
      health.consecutive = 0;
      health.ok++;
      return;
    }
    if (!isUnhealthyFailure(outcome, this.#options.unhealthyCodes as readonly RpcErrorCode[])) {
      return;
    }
    health.failed++;
    health.consecutive++;
    const limit = this.#options.consecutiveFailures;
    if (limit > 0 && health.consecutive >= limit && health.ejectedUntil === 0) {
      this.#eject(node, health, 'consecutive_failures', now);
    }
  }

  /**
   * The members to choose from now: `members` without the ejected ones (a frozen array, the same
   * object until ejections or members change), or `members` itself when nobody is ejected or the
   * balancer is in panic.
   */
  filter(members: readonly string[], now: number = this.#now()): readonly string[] {
    if (members !== this.#members) this.sync(members);
    if (now >= this.#nextReturnAt) this.#returnDue(now);
    if (now >= this.#nextSweepAt) this.#sweep(now);
    if (this.#ejectedCount === 0) return members;
    const healthy = members.length - this.#ejectedCount;
    if (healthy * 100 < this.#options.panicThresholdPercent * members.length) return members;
    if (this.#filteredFor !== members || this.#filteredVersion !== this.#version) {
      const healthy: string[] = [];
      const ejected: string[] = [];
      for (const node of members) {
        (this.#health.get(node)?.ejectedUntil === 0 ? healthy : ejected).push(node);
      }
      this.#filtered = Object.freeze(healthy);
      this.#ejectedOf = Object.freeze(ejected);
      this.#filteredFor = members;
      this.#filteredVersion = this.#version;
    }
    return this.#filtered;
  }

  /**
   * The members to leave out of a pick now: the ejected ones (a frozen array, the same object
   * until ejections or members change), or `undefined` when nobody is ejected or the balancer
   * is in panic. The balancer excludes them per pick rather than handing the algorithm
   * {@link filter}'s shorter list, so the algorithm keeps every member's state (in-flight
   * counts, latency estimates) through an ejection.
   */
  ejectedFrom(
    members: readonly string[],
    now: number = this.#now(),
  ): readonly string[] | undefined {
    return this.filter(members, now) === members ? undefined : this.#ejectedOf;
  }

  /** Adopts a new member list: joiners start healthy, leavers' state is forgotten. */
  sync(members: readonly string[]): void {
    if (members === this.#members) return;
    const keep = new Set(members);
    for (const node of this.#health.keys()) if (!keep.has(node)) this.#health.delete(node);
    for (const node of members) {
      if (!this.#health.has(node)) {
        this.#health.set(node, {
          consecutive: 0,
          ok: 0,
          failed: 0,
          ejectedUntil: 0,
          timesEjected: 0,
        });
      }
    }
    this.#members = members;
    this.#ejectedCount = 0;
    for (const health of this.#health.values()) if (health.ejectedUntil !== 0) this.#ejectedCount++;
    this.#version++;
  }

  /** The members ejected now, sorted (for metrics and dashboards). */
  ejected(): string[] {
    const now = this.#now();
    if (now >= this.#nextReturnAt) this.#returnDue(now);
    return this.#members.filter((node) => this.#health.get(node)?.ejectedUntil !== 0);
  }

  #maxEjected(): number {
    return Math.max(1, Math.floor((this.#members.length * this.#options.maxEjectionPercent) / 100));
  }

  #eject(node: string, health: Health, reason: EjectionReason, now: number): void {
    if (this.#ejectedCount >= this.#maxEjected()) return;
    const o = this.#options;
    health.timesEjected++;
    const durationMs = Math.min(
      o.baseEjectionTimeMs * health.timesEjected,
      Math.max(o.baseEjectionTimeMs, o.maxEjectionTimeMs),
    );
    health.ejectedUntil = now + durationMs;
    health.consecutive = 0;
    this.#ejectedCount++;
    this.#version++;
    if (health.ejectedUntil < this.#nextReturnAt) this.#nextReturnAt = health.ejectedUntil;
    this.#listener?.({
      type: 'eject',
      node,
      reason,
      durationMs,
      timesEjected: health.timesEjected,
    });
  }

  #returnDue(now: number): void {
    let next = NEVER;
    for (const [node, health] of this.#health) {
      if (health.ejectedUntil === 0) continue;
      if (health.ejectedUntil <= now) {
        health.ejectedUntil = 0;
        health.consecutive = 0;
        this.#ejectedCount--;
        this.#version++;
        this.#listener?.({ type: 'return', node });
      } else if (health.ejectedUntil < next) {
        next = health.ejectedUntil;
      }
    }
    this.#nextReturnAt = next;
  }

  /** Interval work: the failure-rate detectors, then fresh counts and a smaller multiplier. */
  #sweep(now: number): void {
    const o = this.#options;
    const intervals = Math.max(1, Math.floor((now - this.#nextSweepAt) / o.intervalMs) + 1);
    this.#nextSweepAt = now + o.intervalMs;
    if (o.failurePercentage !== false) this.#failurePercentage(now, o.failurePercentage);
    if (o.successRate !== false) this.#successRate(now, o.successRate);
    for (const health of this.#health.values()) {
      health.ok = 0;
      health.failed = 0;
      if (health.ejectedUntil === 0) {
        health.timesEjected = Math.max(0, health.timesEjected - intervals);
      }
    }
  }

  #failurePercentage(
    now: number,
    rule: Exclude<ResolvedOutlierDetection['failurePercentage'], false>,
  ): void {
    const qualified = [...this.#health].filter(
      ([, h]) => h.ejectedUntil === 0 && h.ok + h.failed >= rule.requestVolume,
    );
    if (qualified.length < rule.minimumHosts) return;
    for (const [node, h] of qualified) {
      if (h.failed * 100 >= rule.threshold * (h.ok + h.failed)) {
        this.#eject(node, h, 'failure_percentage', now);
      }
    }
  }

  #successRate(now: number, rule: Exclude<ResolvedOutlierDetection['successRate'], false>): void {
    const qualified = [...this.#health].filter(
      ([, h]) => h.ejectedUntil === 0 && h.ok + h.failed >= rule.requestVolume,
    );
    if (qualified.length < rule.minimumHosts) return;
    const rates = qualified.map(([, h]) => h.ok / (h.ok + h.failed));
    const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
    const variance = rates.reduce((a, r) => a + (r - mean) ** 2, 0) / rates.length;
    const floor = mean - rule.stdevFactor * Math.sqrt(variance);
    for (let i = 0; i < qualified.length; i++) {
      const [node, h] = qualified[i];
      if (rates[i] < floor && h.ejectedUntil === 0) this.#eject(node, h, 'success_rate', now);
    }
  }
}
