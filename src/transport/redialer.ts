/**
 * Keeps addresses dialled: seeds for as long as the node runs, lost or newly learnt peers for a
 * while. Each address has its own backoff; a success resets it. Sees the transport only through
 * {@link RedialHost}, so the policy can be tested and changed on its own.
 */
import type { Logger } from '../logger.js';
import { Backoff } from './backoff.js';

/** A lost peer that is not a seed is re-dialled for this long before we give up on it. */
export const LOST_PEER_REDIAL_MS = 60_000;

/** What the redialer needs from the transport. */
export interface RedialHost {
  /** Dials `address`; resolves with the peer's name. */
  connect(address: string): Promise<string>;
  /** `true` while a ready connection to `peer` exists. */
  isConnected(peer: string): boolean;
  readonly logger: Logger;
}

interface Redial {
  readonly address: string;
  readonly forever: boolean;
  readonly backoff: Backoff;
  readonly giveUpAt: number;
  timer: NodeJS.Timeout | undefined;
  /** The node this address led to last time. */
  peer: string | undefined;
}

export class Redialer {
  readonly #host: RedialHost;
  readonly #redials = new Map<string, Redial>();
  #stopped = false;

  constructor(host: RedialHost) {
    this.#host = host;
  }

  /**
   * Starts dialling `address` until it connects (`forever`: and again whenever that node is
   * lost). A non-forever address is given up after {@link LOST_PEER_REDIAL_MS}.
   */
  keep(address: string, forever: boolean): void {
    if (this.#stopped || this.#redials.has(address)) return;
    const redial: Redial = {
      address,
      forever,
      backoff: new Backoff(),
      giveUpAt: Date.now() + LOST_PEER_REDIAL_MS,
      timer: undefined,
      peer: undefined,
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

  #attempt(redial: Redial): void {
    redial.timer = undefined;
    this.#host.connect(redial.address).then(
      (peer) => {
        redial.peer = peer;
        redial.backoff.reset();
        if (!redial.forever) this.#redials.delete(redial.address);
        else if (!this.#host.isConnected(peer)) this.#schedule(redial, false);
      },
      (err: Error) => {
        this.#host.logger.debug(`dial ${redial.address} failed: ${err.message}`);
        if (!redial.forever && Date.now() > redial.giveUpAt) this.#redials.delete(redial.address);
        else this.#schedule(redial, false);
      },
    );
  }
}
