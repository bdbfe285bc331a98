/**
 * Keeps addresses dialled: seeds for as long as the node runs, lost or newly learnt peers for a
 * while. Each address has its own backoff; a success resets it. Sees the transport only through
 * {@link RedialHost}, so the policy can be tested and changed on its own.
 */
import type { Logger } from '../logger.js';
import { Backoff } from './backoff.js';

/** A lost peer that is not a seed is re-dialled for this long before we give up on it. */
export const LOST_PEER_REDIAL_MS = 60_000;

/**
 * Why an address is kept dialled: a `seed`, an address discovery reports (the configured seeds,
 * or a discovery backend's view: kept while it is reported, and dialled again whenever its node
 * is lost), a node `learnt` from a peer list, or a peer `lost` without goodbye (both until the
 * first success, for at most {@link LOST_PEER_REDIAL_MS}).
 */
export type RedialKind = 'seed' | 'learnt' | 'lost';

/**
 * A seed reached before, or a node learnt from a peer list, is worth a warning only once it has
 * failed this long without a break: a restart or a race takes less, a misconfiguration longer.
 */
export const WARN_AFTER_FAILING_MS = 10_000;

/** What the redialer needs from the transport. */
export interface RedialHost {
  /** Dials `address`; resolves with the peer's name. */
  connect(address: string): Promise<string>;
  /** `true` while a ready connection to `peer` exists. */
  isConnected(peer: string): boolean;
  readonly logger: Logger;
  /** Logs a warning unless one with the same key was logged recently. */
  warnLimited(key: string, message: string): void;
  /** The clock of give-up and warning decisions. @default Date.now */
  now?(): number;
}

interface Redial {
  readonly address: string;
  readonly kind: RedialKind;
  readonly backoff: Backoff;
  readonly giveUpAt: number;
  timer: NodeJS.Timeout | undefined;
  /** The node this address leads to, once known (from a peer list, or the last dial). */
  peer: string | undefined;
  /** `true` once a dial to it succeeded. */
  reached: boolean;
  /** When the current run of failed dials began (`Date.now()`), if it is failing. */
  failingSince: number | undefined;
  /** What a warning calls a `seed` (`'seed'`, `'dns address'`...). */
  readonly label: string;
}

export class Redialer {
  readonly #host: RedialHost;
  readonly #redials = new Map<string, Redial>();
  #stopped = false;

  constructor(host: RedialHost) {
    this.#host = host;
  }

  /**
   * Starts dialling `address` until it connects (a seed: and again whenever that node is
   * lost, until {@link forget}). Other addresses are given up after {@link LOST_PEER_REDIAL_MS}.
   * `peer` is the node the address is expected to lead to, when known. An address kept for a
   * while becomes a seed when a seed is asked for; a seed told a new `peer` expects that one.
   * `label` is what warnings call a seed.
   */
  keep(address: string, kind: RedialKind, peer?: string, label = 'seed'): void {
    if (this.#stopped) return;
    const existing = this.#redials.get(address);
    if (existing) {
      if (existing.kind === 'seed' || kind !== 'seed') {
        if (kind === 'seed' && peer !== undefined) existing.peer = peer;
        return;
      }
      this.forget(address);
    }
    const redial: Redial = {
      address,
      kind,
      backoff: new Backoff(),
      giveUpAt: this.#now() + LOST_PEER_REDIAL_MS,
      timer: undefined,
      peer,
      reached: false,
      failingSince: undefined,
      label,
    };
    this.#redials.set(address, redial);
    this.#attempt(redial);
  }

  /**
   * `peer` went down: re-dial the addresses that led to it, at once. Returns `false` when no
   * kept address led to it (the caller may then decide to keep its address for a while).
   */
  peerLost(peer: string): boolean {
    let found = false;
    for (const redial of this.#redials.values()) {
      if (redial.peer !== peer) continue;
      found = true;
      this.#schedule(redial, true);
    }
    return found;
  }

  /**
   * `true` while a kept address could still lead to `peer`: a seed never reached yet (it could
   * be any node), a seed or a learnt address known to lead to `peer`. A lost peer's re-dials in
   * backoff do not count (a call to a dead node fails at once, as before it was lost).
   */
  mayLeadTo(peer: string): boolean {
    for (const redial of this.#redials.values()) {
      if (redial.kind === 'lost') continue;
      if (redial.peer === peer || (redial.kind === 'seed' && redial.peer === undefined))
        return true;
    }
    return false;
  }

  /** The node `address` is known to lead to, if any. */
  peerOf(address: string): string | undefined {
    return this.#redials.get(address)?.peer;
  }

  /** A dial to `address` was answered by `peer` (even if refused). */
  named(address: string, peer: string): void {
    const redial = this.#redials.get(address);
    if (redial) redial.peer = peer;
  }

  /** Stops dialling `address` (it turned out to be this node itself, or discovery lost it). */
  forget(address: string): void {
    const redial = this.#redials.get(address);
    if (!redial) return;
    clearTimeout(redial.timer);
    this.#redials.delete(address);
  }

  /** Stops every pending re-dial. */
  stop(): void {
    this.#stopped = true;
    for (const redial of this.#redials.values()) clearTimeout(redial.timer);
    this.#redials.clear();
  }

  #schedule(redial: Redial, reset: boolean): void {
    if (this.#stopped || this.#redials.get(redial.address) !== redial) return;
    if (reset) redial.backoff.reset();
    clearTimeout(redial.timer);
    redial.timer = setTimeout(() => this.#attempt(redial), redial.backoff.next());
    redial.timer.unref();
  }

  /**
   * A seed or a node learnt from a peer list that cannot be reached is a misconfiguration worth
   * a warning (once a minute per address); a lost peer is expected to be gone for a while.
   */
  #reportFailure(redial: Redial, err: Error): void {
    const now = this.#now();
    redial.failingSince ??= now;
    const unreachedSeed = redial.kind === 'seed' && !redial.reached;
    if (
      redial.kind === 'lost' ||
      (!unreachedSeed && now - redial.failingSince < WARN_AFTER_FAILING_MS)
    ) {
      this.#host.logger.debug(`re-dialling ${redial.address}: ${err.message}`);
      return;
    }
    const what =
      redial.kind === 'seed' ? redial.label : `${redial.peer ?? 'node'} (from a peer list)`;
    this.#host.warnLimited(
      `dial ${redial.address}`,
      `${what}: ${err.message}; retrying with backoff`,
    );
  }

  #now(): number {
    return this.#host.now?.() ?? Date.now();
  }

  #attempt(redial: Redial): void {
    redial.timer = undefined;
    this.#host.connect(redial.address).then(
      (peer) => {
        // Forgotten (or replaced by a seed) while the dial was under way: nothing more to do.
        if (this.#redials.get(redial.address) !== redial) return;
        redial.peer = peer;
        redial.reached = true;
        redial.failingSince = undefined;
        redial.backoff.reset();
        if (redial.kind !== 'seed') this.#redials.delete(redial.address);
        else if (!this.#host.isConnected(peer)) this.#schedule(redial, false);
      },
      (err: Error) => {
        if (this.#redials.get(redial.address) !== redial) return;
        this.#reportFailure(redial, err);
        if (redial.kind !== 'seed' && this.#now() > redial.giveUpAt)
          this.#redials.delete(redial.address);
        else this.#schedule(redial, false);
      },
    );
  }
}
