/**
 * Liveness of one connection: a PING every interval, and the verdict on a silent peer.
 *
 * The two bounds it keeps (docs/explanation/membership.md, "Failure detection"):
 * - A live peer's frames are never more than one interval apart, because it pings every
 *   interval whatever else it sends. So a peer whose event loop stalls for less than
 *   `timeoutMs - interval` is never judged silent.
 * - Silence is judged on every tick against the time the last byte arrived, so a peer that
 *   went silent is declared down at most one interval after `timeoutMs` has passed.
 *
 * A verdict is never given in the tick that finds the silence: it is deferred to the end of
 * the event loop's turn (`defer`, a `setImmediate` in production), after the poll phase has
 * read the sockets. A tick that fires late because this node itself was stalled would
 * otherwise judge its peers before reading the frames they sent meanwhile.
 *
 * Pure: time, the ping, the verdict and the deferral come from {@link HeartbeatHost}, so it is
 * tested with a fake clock.
 */

/** Pings per heartbeat timeout: the interval is a tenth of the stricter timeout of the pair. */
export const PINGS_PER_TIMEOUT = 10;
/** The shortest ping interval, whatever the timeouts. */
export const MIN_PING_INTERVAL_MS = 20;

/**
 * The ping interval of a connection: a tenth of the stricter of the two nodes' timeouts (each
 * states its own in its HELLO), at least {@link MIN_PING_INTERVAL_MS}.
 */
export function pingIntervalMs(ownTimeoutMs: number, peerTimeoutMs: number): number {
  const strictest = Math.min(ownTimeoutMs, peerTimeoutMs);
  return Math.max(MIN_PING_INTERVAL_MS, Math.floor(strictest / PINGS_PER_TIMEOUT));
}

/** What a heartbeat needs from its connection. */
export interface HeartbeatHost {
  /** A monotonic clock in milliseconds. */
  now(): number;
  /** Sends a PING at once (not at the end of the turn). */
  ping(): void;
  /** The peer sent nothing for `silentMs` (at least the timeout): declare it down. */
  silent(silentMs: number): void;
  /** Runs `check` after this turn's socket reads. */
  defer(check: () => void): void;
}

export class Heartbeat {
  readonly #host: HeartbeatHost;
  readonly #timeoutMs: number;
  #lastReceived: number;
  #judging = false;
  #stopped = false;

  constructor(host: HeartbeatHost, timeoutMs: number) {
    this.#host = host;
    this.#timeoutMs = timeoutMs;
    this.#lastReceived = host.now();
  }

  /** Bytes arrived from the peer. */
  received(): void {
    this.#lastReceived = this.#host.now();
  }

  /** How long the peer has been silent. */
  silentMs(): number {
    return this.#host.now() - this.#lastReceived;
  }

  /** One interval passed: ping, and judge the silence after this turn's reads. */
  tick(): void {
    if (this.#stopped) return;
    this.#host.ping();
    if (this.#judging || this.silentMs() < this.#timeoutMs) return;
    this.#judging = true;
    this.#host.defer(this.#judge);
  }

  /** No more pings or verdicts (the connection is closing). */
  stop(): void {
    this.#stopped = true;
  }

  readonly #judge = (): void => {
    this.#judging = false;
    const silent = this.silentMs();
    if (!this.#stopped && silent >= this.#timeoutMs) this.#host.silent(silent);
  };
}
