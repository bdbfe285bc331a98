/**
 * Rate-limits recurring warnings (an unreachable seed, a refused name) to one per key per
 * window, so a misconfiguration is visible at the default log level without flooding it. The
 * next line that passes says how many were held back.
 */

/** One warning per key per this long. */
export const WARN_INTERVAL_MS = 60_000;
/** Keys remembered at most (old ones are forgotten first), so strangers cannot grow the table. */
const MAX_KEYS = 1_000;

export class LogLimiter {
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #seen = new Map<string, { at: number; held: number }>();

  constructor(intervalMs = WARN_INTERVAL_MS, now: () => number = Date.now) {
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  /**
   * `message` with a note of the lines held back since the last one, when a line for `key` may
   * be logged now; `undefined` when it is held back.
   */
  admit(key: string, message: string): string | undefined {
    const now = this.#now();
    const last = this.#seen.get(key);
    if (last && now - last.at < this.#intervalMs) {
      last.held++;
      return undefined;
    }
    this.#seen.delete(key);
    if (this.#seen.size >= MAX_KEYS) this.#seen.delete(this.#seen.keys().next().value as string);
    this.#seen.set(key, { at: now, held: 0 });
    if (!last || last.held === 0) return message;
    return `${message} (${last.held} more like this in the last ${Math.round((now - last.at) / 1000)} s)`;
  }
}
