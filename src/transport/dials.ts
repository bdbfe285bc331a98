/**
 * The transport's dials, from `connect(address)` to the peer's name: the socket dialled (plain
 * or TLS), one attempt per address at a time, each dialled connection's `connect()` settled
 * when the connection is confirmed or closes. A dial refused as a duplicate (both nodes dialled each other at once) waits for the
 * surviving connection; a dial that reached this node itself marks its address so it is never
 * dialled again.
 */
import net from 'node:net';
import tls from 'node:tls';
import { RpcError } from '../errors.js';
import type { Logger } from '../logger.js';
import { describe } from '../options.js';
import type { Connection } from './connection.js';
import type { Redialer } from './redialer.js';

/** `connect()` waits this long for the surviving connection after a duplicate was refused. */
const DUPLICATE_WAIT_MS = 5_000;

/** What the dials need of the transport. */
export interface DialsHost {
  readonly selfName: string;
  readonly logger: Logger;
  /** `true` while a ready connection to `peer` exists. */
  isConnected(peer: string): boolean;
  /** The addresses kept dialled; told what a failed dial taught of its address. */
  readonly redialer: Pick<Redialer, 'forget' | 'named' | 'peerOf' | 'mayLeadTo'>;
}

interface PendingDial {
  readonly resolve: (peer: string) => void;
  readonly reject: (err: RpcError) => void;
  readonly address: string;
}

/** Dials `host:port`: TLS when the node has TLS options (the peer's certificate is checked). */
export function dialSocket(
  host: string,
  port: number,
  tlsOptions: tls.TlsOptions | undefined,
): net.Socket {
  return tlsOptions
    ? tls.connect({
        ...(tlsOptions as tls.ConnectionOptions),
        host,
        port,
        rejectUnauthorized: true,
      })
    : net.connect({ host, port });
}

/** The error of a `connect()` given something that is not `host:port`. */
export function badAddress(address: unknown): RpcError {
  const message = `connect(address): expected "host:port" with a port from 1 to 65535, received ${describe(address)}`;
  return new RpcError('bad_request', message, { details: { reason: 'bad_address' } });
}

/** The error of a `connect()` that failed. */
export function connectFailed(message: string, address: string): RpcError {
  return new RpcError('service_unavailable', message, {
    details: { reason: 'connect_failed', address },
    notExecuted: true,
  });
}

export class Dials {
  readonly #host: DialsHost;
  /** `connect()` attempts under way, by normalized address: a second one joins the first. */
  readonly #byAddress = new Map<string, Promise<string>>();
  /** Dialled connections not confirmed yet, with the `connect()` each settles. */
  readonly #byConnection = new Map<Connection, PendingDial>();
  /** Dials refused as duplicates, waiting for the surviving connection to each peer. */
  readonly #waiters = new Map<string, Set<() => void>>();
  /** Addresses that turned out to lead to this node itself (a discovery may list it). */
  readonly #selfAddresses = new Set<string>();

  constructor(host: DialsHost) {
    this.#host = host;
  }

  /** The `connect()` under way to `address`, if any. */
  underWay(address: string): Promise<string> | undefined {
    return this.#byAddress.get(address);
  }

  /** Records `dial` as the `connect()` under way to `address` until it settles. */
  add(address: string, dial: Promise<string>): Promise<string> {
    const attempt = dial.finally(() => this.#byAddress.delete(address));
    this.#byAddress.set(address, attempt);
    return attempt;
  }

  /** Resolves with the peer's name once `conn`, dialled to `address`, is confirmed. */
  track(conn: Connection, address: string): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.#byConnection.set(conn, { resolve, reject, address });
    });
  }

  /**
   * `true` while a dial under way could still lead to `peer`: one the redialer keeps, or a
   * handshake among `connections` (with that name, or none known yet).
   */
  couldLeadTo(peer: string, connections: Iterable<Connection>): boolean {
    if (this.#host.redialer.mayLeadTo(peer)) return true;
    for (const conn of connections) {
      // A dial to it waits for this connection's idle close to finish.
      if (conn.closingIdle && conn.peerName === peer) return true;
      if (conn.established || conn.closed) continue;
      const dial = this.#byConnection.get(conn);
      const name = conn.claimedName ?? (dial && this.#host.redialer.peerOf(dial.address));
      if (name === undefined || name === peer) return true;
    }
    return false;
  }

  /** `true` when `address` is known to lead to this node itself. */
  isSelf(address: string): boolean {
    return this.#selfAddresses.has(address);
  }

  /** The peer of `conn` is known to be ready too: the dials waiting for it resolve. */
  confirmed(conn: Connection): void {
    const name = conn.peerName as string;
    const waiters = this.#waiters.get(name);
    if (waiters) for (const wake of [...waiters]) wake();
    const dial = this.#byConnection.get(conn);
    if (dial) {
      this.#byConnection.delete(conn);
      dial.resolve(name);
    }
  }

  /** `conn` closed: settles its `connect()` if it was dialled and never confirmed. */
  closed(conn: Connection): void {
    const dial = this.#byConnection.get(conn);
    if (dial) {
      this.#byConnection.delete(conn);
      this.#failed(conn, dial);
    }
  }

  /** Settles the `connect()` of a dialled connection that closed before it was ready. */
  #failed(conn: Connection, dial: PendingDial): void {
    // What the address leads to is known from the HELLO, even when refused.
    const claimed = conn.claimedName;
    if (claimed === this.#host.selfName) {
      this.#host.logger.debug(`${dial.address} is this node itself: not dialled again`);
      this.#host.redialer.forget(dial.address);
      this.#selfAddresses.add(dial.address);
    } else if (claimed !== undefined) this.#host.redialer.named(dial.address, claimed);
    const peer = conn.peerName;
    if (peer && conn.refusal === 'duplicate connection') {
      this.#waitForPeer(peer).then(
        () => dial.resolve(peer),
        () =>
          dial.reject(
            connectFailed(`duplicate connection to ${peer} and no surviving one`, dial.address),
          ),
      );
      return;
    }
    dial.reject(connectFailed(`cannot connect to ${dial.address}: ${conn.failure}`, dial.address));
  }

  #waitForPeer(name: string): Promise<void> {
    if (this.#host.isConnected(name)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let waiters = this.#waiters.get(name);
      if (!waiters) this.#waiters.set(name, (waiters = new Set()));
      const wake = () => {
        clearTimeout(timer);
        waiters.delete(wake);
        if (waiters.size === 0) this.#waiters.delete(name);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(wake);
        if (waiters.size === 0) this.#waiters.delete(name);
        reject(new Error('timeout'));
      }, DUPLICATE_WAIT_MS);
      timer.unref();
      waiters.add(wake);
    });
  }
}
