/** Aborting many calls that share one `AbortSignal`. */

/**
 * One `abort` listener per signal, however many calls share it: a signal shared by hundreds of
 * concurrent calls would otherwise trip Node's MaxListenersExceededWarning and cost a listener
 * registration per call.
 */
export class AbortWatch<T extends { onAbort?: (() => void) | undefined }> {
  readonly #watched = new WeakMap<AbortSignal, { calls: Set<T>; listener: () => void }>();

  watch(signal: AbortSignal, pending: T): void {
    let entry = this.#watched.get(signal);
    if (!entry) {
      const calls = new Set<T>();
      const listener = () => {
        this.#watched.delete(signal);
        for (const call of [...calls]) call.onAbort?.();
      };
      entry = { calls, listener };
      this.#watched.set(signal, entry);
      signal.addEventListener('abort', listener, { once: true });
    }
    entry.calls.add(pending);
  }

  unwatch(signal: AbortSignal, pending: T): void {
    const entry = this.#watched.get(signal);
    if (!entry?.calls.delete(pending) || entry.calls.size > 0) return;
    this.#watched.delete(signal);
    signal.removeEventListener('abort', entry.listener);
  }
}
