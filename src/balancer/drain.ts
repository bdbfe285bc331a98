/**
 * The wait of a stopping balancer for its calls in flight: it ends when the last one ends, or at
 * the drain deadline, which a later `stopWithin` with a shorter budget brings forward (so
 * `node.close()` can cut a balancer's own `drainTimeoutMs` to what is left of its budget).
 */
export class Drain {
  /** When the wait gives up (`performance.now()` time). */
  #deadline = Number.POSITIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  #end: (() => void) | undefined;
  readonly #idleWaiters = new Set<() => void>();

  /** Brings the deadline forward to `deadline` (`performance.now()` time), if that is earlier. */
  shorten(deadline: number): void {
    if (deadline < this.#deadline) {
      this.#deadline = deadline;
      if (this.#end) this.#armTimer();
    }
  }

  /** Resolves once {@link idle} is called or the deadline passes. */
  async wait(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#end = resolve;
      this.#idleWaiters.add(resolve);
      this.#armTimer();
    });
    clearTimeout(this.#timer);
    this.#idleWaiters.delete(this.#end as () => void);
    this.#end = undefined;
  }

  /** No call is in flight any more. */
  idle(): void {
    for (const wake of [...this.#idleWaiters]) wake();
  }

  #armTimer(): void {
    clearTimeout(this.#timer);
    const waitMs = Math.max(0, this.#deadline - performance.now());
    this.#timer = setTimeout(this.#end as () => void, waitMs);
  }
}
