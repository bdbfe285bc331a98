/**
 * `connections: 'on-demand'`: the node dials a node only when a call needs it, and takes the
 * group memberships of the nodes it is not connected to from a discovery backend that carries
 * groups (see {@link Directory}). Nothing here is on the call path once a connection is ready.
 */
import type { Logger } from '../logger.js';
import { everyInterval } from '../transport/tick-groups.js';
import { Directory, type DirectoryEntry } from './directory.js';
import { IdleReaper, type IdleReaperHost, sweepIntervalMs } from './idle-reaper.js';

/** What on-demand connections need of the node. */
export interface OnDemandHost {
  readonly logger: Logger;
  /** Whether a ready connection to `name` exists. */
  isConnected(name: string): boolean;
  /** Dials `address`; resolves with the name of the node reached. */
  connect(address: string): Promise<string>;
  applyGroups(name: string, groups: Readonly<Record<string, number>>): void;
  dropGroups(name: string): void;
}

export class OnDemandConnections {
  readonly #host: OnDemandHost;
  readonly #directory: Directory;
  #stopReaper: (() => void) | undefined;

  /** @param heartbeatTimeoutMs the node's: a dead node's registration lasts about this long. */
  constructor(host: OnDemandHost, heartbeatTimeoutMs: number) {
    this.#host = host;
    // An etcd lease is whole seconds, and a Redis TTL is refreshed before it runs out: an entry
    // still there this long after its node was seen lost belongs to a live node.
    const retryAfterMs = 2 * Math.max(heartbeatTimeoutMs, 1_000) + 1_000;
    this.#directory = new Directory(host, retryAfterMs);
  }

  /** The backend's current view, node name → entry. */
  update(entries: ReadonlyMap<string, DirectoryEntry>): void {
    this.#directory.update(entries);
  }

  /**
   * A call is about to wait for a connection to `name`: dials it if the backend knows where it
   * is. The waiting call sees the dial under way; a refused dial leaves `name` out of its groups
   * (as a lost connection does), so balancers stop selecting it.
   */
  dial(name: string): void {
    if (this.#host.isConnected(name)) return;
    const address = this.#directory.addressOf(name);
    if (address === undefined) return;
    this.#host.connect(address).then(
      (reached) => {
        if (reached === name) return;
        this.#host.logger.warn(
          `${address} was registered as ${name} but leads to ${reached}: ${name} left out until its registration changes`,
        );
        this.#directory.dialFailed(name);
      },
      (err: unknown) => {
        this.#host.logger.debug(`dialling ${name} at ${address} failed: ${String(err)}`);
        this.#directory.dialFailed(name);
      },
    );
  }

  /**
   * Closes the connections unused for `idleTimeoutMs` (none when it is `Infinity`), sweeping a
   * quarter of that period on the process's shared ticks, until {@link close}.
   */
  reapIdle<C>(host: IdleReaperHost<C>, idleTimeoutMs: number): void {
    if (!Number.isFinite(idleTimeoutMs) || this.#stopReaper !== undefined) return;
    const reaper = new IdleReaper(host, idleTimeoutMs);
    this.#stopReaper = everyInterval(sweepIntervalMs(idleTimeoutMs), () => reaper.sweep());
  }

  /** `true` when the backend's entry for `name` lists exactly `groups` (see {@link Directory.reports}). */
  reports(name: string, groups: readonly string[]): boolean {
    return this.#directory.reports(name, groups);
  }

  /** The connection to `name` was closed for idleness: its entry speaks for it again. */
  idleClosed(name: string): void {
    this.#directory.idleClosed(name);
  }

  peerUp(name: string): void {
    this.#directory.peerUp(name);
  }

  peerDown(name: string, incarnation: string | undefined): void {
    this.#directory.peerDown(name, incarnation);
  }

  close(): void {
    this.#stopReaper?.();
    this.#directory.clear();
  }
}
