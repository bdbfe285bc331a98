/**
 * Requests waiting for a connection to a peer that is not connected yet (`node.call` right
 * after `startNode({ seeds })`). A waiter ends with the connection once it is ready, or with
 * `undefined` as soon as no dial under way could lead to that peer, at its timeout, or on abort.
 *
 * The transport calls {@link PeerWaiters.wake} whenever that could have changed (a connection
 * ready or closed, a peer list read, a dial settled); the check runs once per turn, after the
 * promise callbacks of the dials (the redialer's bookkeeping) have run.
 */

/** What the waiters need from the transport. */
export interface PeerWaitersHost<C> {
  /** The ready connection to `peer`, if any. */
  connection(peer: string): C | undefined;
  /** `true` while some dial or handshake under way could still lead to `peer`. */
  couldLeadTo(peer: string): boolean;
}

interface Waiter<C> {
  readonly peer: string;
  readonly done: (conn: C | undefined) => void;
}

export class PeerWaiters<C> {
  readonly #host: PeerWaitersHost<C>;
  readonly #waiters = new Set<Waiter<C>>();
  #scheduled = false;

  constructor(host: PeerWaitersHost<C>) {
    this.#host = host;
  }

  /** Waiters not settled yet. */
  get size(): number {
    return this.#waiters.size;
  }

  /** Resolves with the ready connection to `peer`, or `undefined` once none can come. */
  wait(peer: string, timeoutMs: number, signal?: AbortSignal): Promise<C | undefined> {
    const ready = this.#host.connection(peer);
    if (ready !== undefined || signal?.aborted || !this.#host.couldLeadTo(peer))
      return Promise.resolve(ready);
    return new Promise<C | undefined>((resolve) => {
      const onAbort = () => waiter.done(undefined);
      const timer = setTimeout(onAbort, timeoutMs);
      const waiter: Waiter<C> = {
        peer,
        done: (conn) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.#waiters.delete(waiter);
          resolve(conn);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  /** Something changed: re-check every waiter at the end of this turn. */
  wake(): void {
    if (this.#scheduled || this.#waiters.size === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      for (const waiter of [...this.#waiters]) {
        const conn = this.#host.connection(waiter.peer);
        if (conn !== undefined || !this.#host.couldLeadTo(waiter.peer)) waiter.done(conn);
      }
    });
  }

  /** Ends every wait with `undefined` (the node is closing). */
  clear(): void {
    for (const waiter of [...this.#waiters]) waiter.done(undefined);
  }
}
