/**
 * Liveness of one connection: a PING every ping interval, and the verdict on a silent peer,
 * checked every check interval.
 *
 * The two bounds it keeps (docs/explanation/membership.md, "Failure detection"):
 * - A live peer's frames are never more than one ping interval apart, because it pings every
 *   interval whatever else it sends. So a peer whose event loop stalls for less than
 *   `timeoutMs - pingInterval` is never judged silent.
 * - Silence is judged on every check against the time the last byte arrived, so a peer that
 *   went silent is declared down at most one check interval after `timeoutMs` has passed.
 *
 * The two intervals differ because they cost differently: a ping is a write on the socket and
 * a wake-up of the peer to read it (in a mesh of a hundred nodes, most of an idle node's CPU),
 * a check is a comparison in a timer this process runs anyway. So pings go every fifth of the
 * timeout and checks every tenth: half the traffic of pinging every tenth, for the same
 * detection bound and a stall tolerance of four fifths of the timeout instead of nine tenths.
 *
 * A verdict is never given in the check that finds the silence: it is deferred to the end of
 * the event loop's turn (`defer`, a `setImmediate` in production), after the poll phase has
 * read the sockets. A check that fires late because this node itself was stalled would
 * otherwise judge its peers before reading the frames they sent meanwhile.
 *
 * Pure: time, the ping, the verdict and the deferral come from {@link HeartbeatHost}, so it is
 * tested with a fake clock.
 */

/** Pings per heartbeat timeout: the ping interval is a fifth of the stricter timeout of the pair. */
export const PINGS_PER_TIMEOUT = 5;
/** Checks per heartbeat timeout: a node judges silence every tenth of its own timeout. */
export const CHECKS_PER_TIMEOUT = 10;
/** The shortest ping or check interval, whatever the timeouts. */
export const MIN_PING_INTERVAL_MS = 20;

/**
 * The ping interval of a connection: a fifth of the stricter of the two nodes' timeouts (each
 * states its own in its HELLO), at least {@link MIN_PING_INTERVAL_MS}.
 */
export function pingIntervalMs(ownTimeoutMs: number, peerTimeoutMs: number): number {
  const strictest = Math.min(ownTimeoutMs, peerTimeoutMs);
  return Math.max(MIN_PING_INTERVAL_MS, Math.floor(strictest / PINGS_PER_TIMEOUT));
}

/**
 * How often a node judges its peers' silence: a tenth of its own timeout, at least
 * {@link MIN_PING_INTERVAL_MS}. A silent peer is declared down at most this long after the
 * timeout.
 */
export function checkIntervalMs(ownTimeoutMs: number): number {
  return Math.max(MIN_PING_INTERVAL_MS, Math.floor(ownTimeoutMs / CHECKS_PER_TIMEOUT));
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

  /** One ping interval passed: ping. */
  ping(): void {
    if (!this.#stopped) this.#host.ping();
  }

  /** One check interval passed: judge the silence after this turn's reads. */
  check(): void {
    if (this.#stopped || this.#judging || this.silentMs() < this.#timeoutMs) return;
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
