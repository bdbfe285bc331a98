/** Exponential backoff with jitter for re-dialling, so a restarted cluster does not reconnect in lockstep. */
export class Backoff {
  #attempt = 0;
  constructor(
    private readonly minMs = 100,
    private readonly maxMs = 5_000,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt: doubling from `minMs` up to `maxMs`, each jittered to 50–100%. */
  next(): number {
    const base = Math.min(this.maxMs, this.minMs * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    return Math.round(base * (0.5 + this.random() / 2));
  }

  /** Starts again from `minMs` (after a success). */
  reset(): void {
    this.#attempt = 0;
  }
}
