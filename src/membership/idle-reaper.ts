/**
 * Which on-demand connections to close for idleness (`connections: { mode: 'on-demand',
 * idleTimeoutMs }`).
 *
 * Nothing here runs per call. Each connection carries a counter that every call, cast, reply
 * and probe bumps (one increment, no clock read); a periodic sweep remembers each counter with
 * the time it last saw it change. A connection whose counter has not moved for the idle timeout
 * is closed unless something is in flight on it either way: a call waiting for its reply (the
 * counter does not move while a slow handler runs) or one being served. The time a counter was
 * first seen is the sweep's, never earlier than the use it reflects, so a connection is never
 * closed early, and at most one sweep late.
 */

/** What the reaper needs of the node; `C` is a connection. */
export interface IdleReaperHost<C> {
  /** A monotonic clock, in ms. */
  now(): number;
  /** The connections that may be closed for idleness. */
  connections(): Iterable<C>;
  /** `conn`'s use counter. */
  activity(conn: C): number;
  /**
   * Asked once in a sweep that found a connection idle for long enough: a test of whether a
   * call is in flight on a connection, either way.
   */
  busy(): (conn: C) => boolean;
  /** Closes `conn`, unused for `idleMs`; `false` when it was kept (it is asked again later). */
  close(conn: C, idleMs: number): boolean;
}

interface Seen {
  activity: number;
  /** When the sweep first saw this counter value. */
  since: number;
  /** The sweep that last saw the connection (entries not seen are forgotten). */
  sweep: number;
}

/** The sweep period for `idleTimeoutMs`: a quarter of it, from 10 ms to 10 s. */
export function sweepIntervalMs(idleTimeoutMs: number): number {
  return Math.min(10_000, Math.max(10, Math.round(idleTimeoutMs / 4)));
}

export class IdleReaper<C> {
  readonly #host: IdleReaperHost<C>;
  readonly #idleTimeoutMs: number;
  readonly #seen = new Map<C, Seen>();
  #sweeps = 0;

  constructor(host: IdleReaperHost<C>, idleTimeoutMs: number) {
    this.#host = host;
    this.#idleTimeoutMs = idleTimeoutMs;
  }

  /** Connections tracked (for tests). */
  get tracked(): number {
    return this.#seen.size;
  }

  /** One sweep: closes the connections idle for the timeout; returns how many. */
  sweep(): number {
    const now = this.#host.now();
    const sweep = ++this.#sweeps;
    let due: C[] | undefined;
    for (const conn of this.#host.connections()) {
      const activity = this.#host.activity(conn);
      const seen = this.#seen.get(conn);
      if (seen === undefined) {
        this.#seen.set(conn, { activity, since: now, sweep });
        continue;
      }
      seen.sweep = sweep;
      if (seen.activity !== activity) {
        seen.activity = activity;
        seen.since = now;
      } else if (now - seen.since >= this.#idleTimeoutMs) {
        (due ??= []).push(conn);
      }
    }
    for (const [conn, seen] of this.#seen) if (seen.sweep !== sweep) this.#seen.delete(conn);
    return due === undefined ? 0 : this.#closeIdle(due, now);
  }

  #closeIdle(due: readonly C[], now: number): number {
    const busy = this.#host.busy();
    let closed = 0;
    for (const conn of due) {
      if (busy(conn)) continue;
      const seen = this.#seen.get(conn) as Seen;
      if (!this.#host.close(conn, now - seen.since)) continue;
      this.#seen.delete(conn);
      closed++;
    }
    return closed;
  }
}
