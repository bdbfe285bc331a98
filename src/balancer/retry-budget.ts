/**
 * A retry budget (Finagle's): retries may add at most a fixed share of the calls made, plus a
 * small allowance per second, so retries help with a few failures but cannot multiply the load
 * on a struggling cluster (a "retry storm").
 *
 * Pure and clock-injected: no timers. Deposits and withdrawals are counted in a sliding window of
 * `ttlMs`, kept as ten buckets of `ttlMs / 10`, so old traffic stops counting in steps of a
 * tenth of the window.
 */
import { optionalNumber, requireRecord } from '../algorithms/validate.js';

/** Options of {@link RetryBudget}; the defaults are Finagle's. */
export interface RetryBudgetOptions {
  /** How long a call's deposit (and a retry's withdrawal) counts, ms. @default 10_000 */
  ttlMs?: number;
  /** Retries allowed per second even without calls to earn them. @default 10 */
  minRetriesPerSecond?: number;
  /** Retries allowed as a percentage of calls. @default 20 */
  percentCanRetry?: number;
}

/** Finagle's defaults: retries ≤ 20 % of calls + 10 per second, over a 10 s window. */
export const DEFAULT_RETRY_BUDGET: Readonly<Required<RetryBudgetOptions>> = Object.freeze({
  ttlMs: 10_000,
  minRetriesPerSecond: 10,
  percentCanRetry: 20,
});

const BUCKETS = 10;

/**
 * A retry budget for one balancer.
 *
 * The balancer calls {@link RetryBudget.deposit} once per call (not per attempt) and
 * {@link RetryBudget.tryWithdraw} before each retry: `false` means the budget is spent and the
 * call should fail with its last real error. Over any `ttlMs` window,
 * `retries ≤ percentCanRetry % × calls + minRetriesPerSecond × ttlMs / 1000`.
 *
 * @example
 * ```ts
 * const budget = new RetryBudget({}, () => performance.now());
 * budget.deposit();                       // a call starts
 * if (!budget.tryWithdraw()) throw lastError;   // before a retry
 * ```
 */
export class RetryBudget {
  readonly #now: () => number;
  readonly #bucketMs: number;
  readonly #share: number;
  readonly #reserve: number;
  readonly #deposits = new Float64Array(BUCKETS);
  readonly #withdrawals = new Float64Array(BUCKETS);
  /** index of the bucket that `#bucketStart` begins */
  #current = 0;
  #bucketStart: number;

  /**
   * @param options - see {@link RetryBudgetOptions}
   * @param now - the balancer's millisecond clock
   * @throws TypeError naming the option when one is out of range.
   */
  constructor(options: RetryBudgetOptions, now: () => number) {
    const o = requireRecord('retryBudget', options ?? {}, 'an object') ?? {};
    const d = DEFAULT_RETRY_BUDGET;
    const inf = Number.POSITIVE_INFINITY;
    const ttlMs = optionalNumber('ttlMs', o.ttlMs, d.ttlMs, 1, inf);
    const perSecond = optionalNumber(
      'minRetriesPerSecond',
      o.minRetriesPerSecond,
      d.minRetriesPerSecond,
      0,
      inf,
    );
    this.#share =
      optionalNumber('percentCanRetry', o.percentCanRetry, d.percentCanRetry, 0, 1_000) / 100;
    this.#reserve = (perSecond * ttlMs) / 1000;
    this.#bucketMs = ttlMs / BUCKETS;
    this.#now = now;
    this.#bucketStart = now();
  }

  /** Counts one call: it earns `percentCanRetry / 100` of a retry. `now`: the clock's reading, if the caller has one. */
  deposit(now: number = this.#now()): void {
    this.#advance(now);
    this.#deposits[this.#current]++;
  }

  /** Takes one retry from the budget; `false` (and nothing taken) when less than one is left. */
  tryWithdraw(now: number = this.#now()): boolean {
    if (this.balance(now) < 1) return false;
    this.#withdrawals[this.#current]++;
    return true;
  }

  /** Retries available now: reserve + share × calls − retries, over the window. */
  balance(now: number = this.#now()): number {
    this.#advance(now);
    let deposits = 0;
    let withdrawals = 0;
    for (let i = 0; i < BUCKETS; i++) {
      deposits += this.#deposits[i];
      withdrawals += this.#withdrawals[i];
    }
    return this.#reserve + this.#share * deposits - withdrawals;
  }

  /** Moves to the bucket of `now`, emptying the buckets that fell out of the window. */
  #advance(now: number): void {
    const elapsed = now - this.#bucketStart;
    if (elapsed < this.#bucketMs) return;
    const steps = Math.floor(elapsed / this.#bucketMs);
    for (let i = 1; i <= Math.min(steps, BUCKETS); i++) {
      const at = (this.#current + i) % BUCKETS;
      this.#deposits[at] = 0;
      this.#withdrawals[at] = 0;
    }
    this.#current = (this.#current + steps) % BUCKETS;
    this.#bucketStart += steps * this.#bucketMs;
  }
}
