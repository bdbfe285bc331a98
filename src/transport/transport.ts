/**
 * The node's network side: listens, dials, admits authenticated connections (one per peer),
 * keeps what discovery reports (the seeds by default) and lost peers re-dialled with backoff,
 * and exchanges peer lists so that any seed leads to a full mesh. Upper layers see `onUp` /
 * `onDown` / `onMessage` only. Who is admitted is decided in admission.ts, dials are tracked
 * in dials.ts.
 */
import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import { formatAddress, parseAddress } from '../addresses.js';
import { publishNodeDown, publishNodeUp } from '../diagnostics.js';
import type { Logger } from '../logger.js';
import type { ResolvedNodeOptions } from '../options.js';
import { Admission } from './admission.js';
import { advertisedHost } from './advertise.js';
import { Connection, type ConnectionHost, type DownReason } from './connection.js';
import { badAddress, connectFailed, Dials, dialSocket } from './dials.js';
import { IdleCloseDials } from './idle-dials.js';
import { closeServer, listen } from './listener.js';
import { LogLimiter } from './log-limiter.js';
import { MessageType } from './message-types.js';
import { decodePeerList, encodePeerList } from './peer-list.js';
import { PeerWaiters } from './peer-waiters.js';
import { Redialer } from './redialer.js';

/** What the transport tells the layers above it. */
export interface TransportHandlers {
  onUp(peer: string, conn: Connection): void;
  /** The peer is gone (or said goodbye): drop its memberships; its socket may still deliver replies. */
  onDown(peer: string, conn: Connection, reason: DownReason, detail: string): void;
  /** The socket closed: nothing more will arrive on it. */
  onClosed(conn: Connection, reason: DownReason): void;
  onMessage(conn: Connection, type: number, frame: Buffer): void;
}

/** Sockets adopted by transports in this process: all of them, and those not closed yet. */
const socketStats = { opened: 0, open: 0 };

/**
 * @internal How many sockets, incoming or dialled, transports in this process have adopted
 * (`opened`) and still hold (`open`: handshaking, ready, or flushing a goodbye). Tests use it to
 * check at the socket level that two nodes dialling each other end with one connection.
 */
export function transportSocketStats(): { opened: number; open: number } {
  return { ...socketStats };
}

export class Transport implements ConnectionHost {
  readonly selfName: string;
  readonly incarnation = randomBytes(8).toString('hex');
  /** The `host:port` bound (a wildcard host stays a wildcard). */
  listenAddress = '';
  /** The `host:port` peers are told to dial (never a wildcard). */
  advertisedAddress = '';
  readonly cookie: string;
  readonly maxFrameBytes: number;
  readonly maxSendQueueBytes: number;
  readonly heartbeatTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  /** On demand, a peer's idle close is a closed connection, not a departure. */
  readonly acceptsIdleClose: boolean;
  readonly logger: Logger;

  readonly #options: ResolvedNodeOptions;
  readonly #handlers: TransportHandlers;
  readonly #ready = new Map<string, Connection>();
  readonly #all = new Set<Connection>();
  readonly #redialer: Redialer;
  readonly #dials: Dials;
  readonly #admission = new Admission(this.#ready, (key, message) =>
    this.warnLimited(key, message),
  );
  readonly #closeWaiters = new Set<() => void>();
  readonly #idleDials = new IdleCloseDials();
  readonly #warnings = new LogLimiter();
  /**
   * Ready connections whose peer has not sent its peer list yet (it may name the node awaited).
   * The list is the first frame after readiness, so any frame ends the wait; a list that never
   * comes is given up after `handshakeTimeoutMs`.
   */
  readonly #awaitingPeerList = new Set<Connection>();
  readonly #peerWaiters = new PeerWaiters<Connection>({
    connection: (peer) => this.connection(peer),
    couldLeadTo: (peer) => this.#couldLeadTo(peer),
  });
  #server: net.Server | undefined;
  #closing = false;
  /**
   * Whether nodes named in peers' peer lists are dialled (the discovery decides; the list is
   * always sent, since its arrival confirms a new connection).
   */
  dialLearntPeers = true;

  constructor(options: ResolvedNodeOptions, handlers: TransportHandlers) {
    this.#options = options;
    this.#handlers = handlers;
    this.selfName = options.name;
    this.cookie = options.cookie;
    this.maxFrameBytes = options.maxFrameBytes;
    this.maxSendQueueBytes = options.maxSendQueueBytes;
    this.heartbeatTimeoutMs = options.heartbeatTimeoutMs;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs;
    this.acceptsIdleClose = options.connections === 'on-demand';
    this.logger = options.logger;
    this.#redialer = new Redialer({
      connect: (address) => this.connect(address),
      isConnected: (peer) => this.#ready.has(peer),
      logger: options.logger,
      warnLimited: (key, message) => this.warnLimited(key, message),
    });
    this.#dials = new Dials({
      selfName: this.selfName,
      logger: this.logger,
      isConnected: (peer) => this.#ready.has(peer),
      redialer: this.#redialer,
    });
  }

  /**
   * Works out the address to advertise (a `TypeError` when it cannot), then listens; resolves
   * with the `host:port` actually bound.
   */
  async listen(): Promise<string> {
    const { tls: tlsOptions, host, port } = this.#options;
    const advertised = await advertisedHost(this.#options);
    const server = await listen(
      {
        host,
        port,
        tls: tlsOptions,
        handshakeTimeoutMs: this.handshakeTimeoutMs,
        warnLimited: (key, message) => this.warnLimited(key, message),
      },
      (socket) => {
        if (this.#closing) socket.destroy();
        else this.#adopt(socket, false);
      },
    );
    server.on('error', (err) => this.logger.error(`listener error: ${err.message}`));
    this.#server = server;
    const bound = server.address() as net.AddressInfo;
    this.listenAddress = formatAddress(host, bound.port);
    this.advertisedAddress = formatAddress(advertised.host, advertised.port ?? bound.port);
    return this.listenAddress;
  }

  /**
   * Keeps `address` dialled while discovery reports it: and again whenever its node is lost.
   * `label` names it in warnings (`'seed'`, `'dns address'`).
   */
  keepDiscovered(address: string, peer: string | undefined, label: string): void {
    if (!this.#closing) this.#redialer.keep(address, 'seed', peer, label);
  }

  /** Stops re-dialling `address` (discovery no longer reports it); a connection to it stays. */
  forgetDiscovered(address: string): void {
    this.#redialer.forget(address);
  }

  /** `true` when `address` is known to lead to this node itself. */
  isSelfAddress(address: string): boolean {
    return address === this.advertisedAddress || this.#dials.isSelf(address);
  }

  /** The ready connection to `peer`, if any. */
  connection(peer: string): Connection | undefined {
    const conn = this.#ready.get(peer);
    return conn?.ready ? conn : undefined;
  }

  /**
   * Waits up to `timeoutMs` for a ready connection to `peer` while a dial under way could lead to
   * it: a handshake in either direction (with that name, or none known yet), a seed never reached
   * or known to be `peer`, a node learnt from a peer list, a fresh connection whose peer list has
   * not arrived. Resolves `undefined` as soon as none could (at once when none is under way).
   */
  waitForConnection(
    peer: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Connection | undefined> {
    return this.#peerWaiters.wait(peer, timeoutMs, signal);
  }

  /** Ready connections. */
  connections(): IterableIterator<Connection> {
    return this.#ready.values();
  }

  /** Names of connected peers, sorted. */
  peers(): string[] {
    return [...this.#ready.keys()].sort();
  }

  /** Dials `address` unless already connected to it; resolves with the peer's name. */
  connect(address: string): Promise<string> {
    let target: { host: string; port: number };
    try {
      target = parseAddress(address, 'address');
    } catch {
      return Promise.reject(badAddress(address));
    }
    const normalized = formatAddress(target.host, target.port);
    if (this.#closing) return Promise.reject(connectFailed('node is closing', normalized));
    for (const [name, conn] of this.#ready)
      if (conn.peer?.address === normalized) return Promise.resolve(name);
    const inFlight = this.#dials.underWay(normalized);
    if (inFlight) return inFlight;
    const dialNow = () => {
      if (this.#closing) return Promise.reject(connectFailed('node is closing', normalized));
      return this.#dial(target.host, target.port, normalized);
    };
    const closing = this.#idleDials.closingTo(this.#all, normalized);
    return this.#dials.add(
      normalized,
      closing ? this.#idleDials.after(closing, dialNow) : dialNow(),
    );
  }

  /**
   * Closes `conn` because nothing used it for `idleMs` (on demand). It leaves the ready set at
   * once (`onDown` with reason `'idle'`), so a new request dials again, once the peer has
   * answered the goodbye (before that, the peer would refuse a second connection as a
   * duplicate). `false`, and nothing done, unless `conn` is the peer's ready connection and the
   * peer announced that it takes an idle close as one (`idleClose` in its HELLO).
   */
  closeIdle(conn: Connection, idleMs: number): boolean {
    const name = conn.peerName;
    if (this.#closing || name === undefined || this.#ready.get(name) !== conn) return false;
    if (!conn.ready || conn.peer?.idleClose !== true) return false;
    conn.goodbye('idle');
    this.#down(conn, 'idle', `idle for ${Math.round(idleMs)} ms`);
    return true;
  }

  /** Says goodbye to every peer and stops listening and re-dialling. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#redialer.stop();
    this.#peerWaiters.clear();
    for (const conn of [...this.#all]) {
      if (conn.ready) conn.goodbye();
      else if (!conn.established) conn.destroy('node closing');
    }
    await this.#allClosed();
    await this.#closeServer();
  }

  /** Drops every connection at once, without goodbye. */
  async destroy(): Promise<void> {
    this.#closing = true;
    this.#redialer.stop();
    this.#peerWaiters.clear();
    for (const conn of [...this.#all]) conn.destroy('node destroyed');
    await this.#closeServer();
  }

  // --- ConnectionHost ---------------------------------------------------------------------

  warnLimited(key: string, message: string): void {
    const line = this.#warnings.admit(key, message);
    if (line !== undefined) this.logger.warn(line);
  }

  admit(conn: Connection): string | null {
    if (this.#closing) return 'node is shutting down';
    return this.#admission.admit(conn);
  }

  onReady(conn: Connection): void {
    const name = conn.peerName as string;
    this.#admission.release(conn);
    this.#ready.set(name, conn);
    this.#awaitingPeerList.add(conn);
    setTimeout(() => this.#peerListDone(conn), this.handshakeTimeoutMs).unref();
    this.#peerWaiters.wake();
    this.logger.info(`node up: ${name} (${conn.peer?.address})`);
    publishNodeUp(() => ({ node: this.selfName, peer: name, address: conn.peer?.address ?? '' }));
    this.#sendPeerList(conn);
    this.#handlers.onUp(name, conn);
  }

  onConfirmed(conn: Connection): void {
    this.#dials.confirmed(conn);
  }

  onMessage(conn: Connection, type: number, frame: Buffer): void {
    if (type === MessageType.PeerList) this.#onPeerList(frame);
    else this.#handlers.onMessage(conn, type, frame);
    if (this.#awaitingPeerList.size > 0) this.#peerListDone(conn);
  }

  /** `conn`'s peer can no longer tell of the node awaited (its list came, or never will). */
  #peerListDone(conn: Connection): void {
    if (this.#awaitingPeerList.delete(conn)) this.#peerWaiters.wake();
  }

  onLeaving(conn: Connection, idle: boolean): void {
    if (idle) this.#down(conn, 'idle', 'the peer closed an idle connection');
    else this.#down(conn, 'goodbye', 'peer said goodbye');
  }

  onClose(conn: Connection, reason: DownReason, detail: string, wasReady: boolean): void {
    this.#all.delete(conn);
    this.#awaitingPeerList.delete(conn);
    // Started before the waiters are woken, so that a call waiting for this peer sees the dial.
    this.#idleDials.closed(conn);
    this.#peerWaiters.wake();
    this.#admission.release(conn);
    this.#dials.closed(conn);
    if (wasReady) {
      this.#down(conn, reason, detail);
      this.#handlers.onClosed(conn, reason);
    }
    for (const wake of [...this.#closeWaiters]) wake();
  }

  /** Announces a peer down once per connection, and re-dials it when it did not leave on purpose. */
  #down(conn: Connection, reason: DownReason, detail: string): void {
    const name = conn.peerName;
    if (name === undefined || this.#ready.get(name) !== conn) return;
    this.#ready.delete(name);
    this.logger.info(`node down: ${name} at ${conn.remote} (${reason}: ${detail})`);
    publishNodeDown(() => ({ node: this.selfName, peer: name, reason, detail }));
    this.#handlers.onDown(name, conn, reason, detail);
    // A peer closed for idleness is still there: the next call dials it, nothing re-dials it.
    if (this.#closing || reason === 'idle') return;
    if (!this.#redialer.peerLost(name) && reason !== 'goodbye' && conn.peer) {
      this.#redialer.keep(conn.peer.address, 'lost', name);
    }
  }

  // --- dialling ---------------------------------------------------------------------------

  #adopt(socket: net.Socket, initiator: boolean, dialled?: string): Connection {
    socketStats.opened++;
    socketStats.open++;
    socket.once('close', () => socketStats.open--);
    const conn = new Connection(this, socket, initiator, dialled);
    this.#all.add(conn);
    return conn;
  }

  #dial(host: string, port: number, address: string): Promise<string> {
    const socket = dialSocket(host, port, this.#options.tls);
    return this.#dials.track(this.#adopt(socket, true, address), address);
  }

  /**
   * `true` while something under way could still give a ready connection to `peer` (see
   * {@link waitForConnection}).
   */
  #couldLeadTo(peer: string): boolean {
    if (this.#closing) return false;
    return this.#awaitingPeerList.size > 0 || this.#dials.couldLeadTo(peer, this.#all);
  }

  // --- peer exchange ----------------------------------------------------------------------

  #sendPeerList(to: Connection): void {
    const peers: [string, string][] = [];
    for (const [name, conn] of this.#ready) {
      if (conn !== to && conn.peer) peers.push([name, conn.peer.address]);
    }
    // Sent even when empty: the first frame after readiness confirms it to the other side.
    to.send(encodePeerList(peers));
  }

  #onPeerList(frame: Buffer): void {
    if (!this.dialLearntPeers) return;
    for (const [name, address] of decodePeerList(frame)) {
      if (name === this.selfName || this.#ready.has(name)) continue;
      // Re-dialled, not tried once: the dial can be refused for a while (a node restarted
      // under the same name is "in use" until that peer drops the old process), and nobody
      // else will introduce these two nodes again.
      this.#redialer.keep(address, 'learnt', name);
    }
  }

  /** Resolves when every connection has closed (goodbyes bound themselves in time). */
  #allClosed(): Promise<void> {
    if (this.#all.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const wake = () => {
        if (this.#all.size > 0) return;
        this.#closeWaiters.delete(wake);
        resolve();
      };
      this.#closeWaiters.add(wake);
    });
  }

  async #closeServer(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    await closeServer(server);
  }
}
