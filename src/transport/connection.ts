/**
 * One authenticated TCP (or TLS) connection to a peer node: handshake, framing, heartbeat.
 *
 * A guarded state machine: `handshaking → ready → (closing | leaving) → closed` (the states are
 * described at `State`); every step checks the state it leaves, so a late event is a no-op.
 * The transport decides admission (duplicates, names in use) through the {@link ConnectionHost}
 * seam; upper layers see only ready connections, their messages, and their close reason.
 * The handshake itself (HELLO, cookie proofs, who decides) is in connection-handshake.ts.
 */
import type { Socket } from 'node:net';
import { publishConnectionDropped } from '../diagnostics.js';
import type { Logger } from '../logger.js';
import { Handshake, handshakeFailure } from './connection-handshake.js';
import { FrameDecoder, FrameError } from './frame-decoder.js';
import { FrameWriter } from './frame-writer.js';
import { buildFrame } from './frames.js';
import type { Hello } from './handshake.js';
import { checkIntervalMs, Heartbeat, pingIntervalMs } from './heartbeat.js';
import { GoodbyeReason, MessageType } from './message-types.js';
import { describeSocketError } from './socket-errors.js';
import { everyInterval } from './tick-groups.js';

/**
 * Why a ready connection ended, as `nodedown` reports it. `'idle'`: closed because nothing used
 * it for the idle timeout (`connections: 'on-demand'`); the node is still there and a member of
 * its groups, and the next call dials it again.
 */
export type DownReason = 'closed' | 'timeout' | 'goodbye' | 'idle';

/** Frames larger than this are refused before the peer has authenticated. */
const PREAUTH_MAX_FRAME_BYTES = 64 * 1024;

/** What a connection needs from the transport that owns it. */
export interface ConnectionHost {
  readonly selfName: string;
  readonly incarnation: string;
  /** The address peers are told to dial (sent in HELLO). */
  readonly advertisedAddress: string;
  readonly cookie: string;
  readonly maxFrameBytes: number;
  readonly maxSendQueueBytes: number;
  readonly heartbeatTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  /** Whether this node takes an idle close as a closed connection, not a departure (sent in HELLO). */
  readonly acceptsIdleClose: boolean;
  readonly logger: Logger;
  /** Logs a warning unless one with the same key was logged recently (recurring refusals). */
  warnLimited(key: string, message: string): void;
  /** Admission check once the peer is authenticated: `null` to accept, else the refusal reason. */
  admit(conn: Connection): string | null;
  onReady(conn: Connection): void;
  /** The peer is known to be ready too (`connect()` resolves here). */
  onConfirmed(conn: Connection): void;
  onMessage(conn: Connection, type: number, frame: Buffer): void;
  /**
   * The peer said goodbye (`idle`: it closes an idle connection and stays): the connection must
   * no longer be used for new requests (the socket stays open for replies).
   */
  onLeaving(conn: Connection, idle: boolean): void;
  /** Called once. `wasReady` tells whether upper layers ever saw the connection. */
  onClose(conn: Connection, reason: DownReason, detail: string, wasReady: boolean): void;
}

/**
 * `closing`: this node said goodbye and still answers what arrives until the peer acknowledges.
 * `leaving`: the peer said goodbye; acknowledged; replies are still read until the socket ends.
 * Together they make a graceful close lose nothing that was already on the wire.
 */
type State = 'handshaking' | 'ready' | 'closing' | 'leaving' | 'closed';

/** Every ping is the same 5 bytes. */
const PING = buildFrame(MessageType.Ping);
/** A GOODBYE that closes an idle connection (peers that announced `idleClose` only). */
const IDLE_GOODBYE = buildFrame(MessageType.Goodbye, Buffer.from([GoodbyeReason.Idle]));

/** How long a goodbye waits for the peer's acknowledgement. */
const GOODBYE_ACK_TIMEOUT_MS = 2_000;

export class Connection {
  readonly socket: Socket;
  /** `true` when this node dialled. */
  readonly initiator: boolean;
  /** Set once the peer's HELLO is read. */
  peer: Hello | undefined;
  /** The largest frame the peer accepts (the smaller of both limits). */
  sendLimit = PREAUTH_MAX_FRAME_BYTES;
  /** The protocol version this connection speaks (the highest both sides speak); 0 before HELLO. */
  protocol = 0;
  /** Per-connection state of the layers above (the node sets it when the connection is ready). */
  session: object | undefined;
  /** The name the peer gave in its HELLO, as soon as it arrived (even if then refused). */
  claimedName: string | undefined;
  /** The reason a handshake was refused, when it was (for `connect()` to report). */
  refusal: string | undefined;
  /** The socket error that ended the connection, if one did (e.g. `ECONNREFUSED`). */
  socketError: string | undefined;

  readonly #host: ConnectionHost;
  readonly #decoder = new FrameDecoder(PREAUTH_MAX_FRAME_BYTES);
  readonly #writer: FrameWriter;
  readonly #handshake: Handshake;
  #state: State = 'handshaking';
  #confirmed = false;
  #heartbeat: Heartbeat | undefined;
  #overflowing = false;
  /** Set once either side said goodbye to close this connection for idleness. */
  #idle = false;
  /** Waits for the peer's answer to a goodbye (either side's). */
  #goodbyeTimer: NodeJS.Timeout | undefined;
  /** Ends this connection's heartbeat ticks (set once ready). */
  #stopTicks: (() => void) | undefined;

  readonly #remote: string | undefined;

  /** `dialled`: the address dialled (a dialled socket has no remote address until connected). */
  constructor(host: ConnectionHost, socket: Socket, initiator: boolean, dialled?: string) {
    this.#host = host;
    this.socket = socket;
    this.initiator = initiator;
    this.#remote =
      dialled ?? (socket.remoteAddress && `${socket.remoteAddress}:${socket.remotePort}`);
    this.#writer = new FrameWriter(socket);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.socketError = describeSocketError(err);
      this.#fail('closed', this.socketError);
    });
    socket.on('close', () => this.#fail('closed', 'socket closed'));
    this.#handshake = new Handshake(
      {
        send: (frame) => this.#send(frame),
        close: (reason, detail, flush) => this.#close(reason, detail, flush),
        protocolError: (detail) => this.#protocolError(detail),
        publishDropped: (reason) => this.#publishDropped(reason),
        becomeReady: () => this.#becomeReady(),
      },
      host,
      this,
    );
  }

  get ready(): boolean {
    return this.#state === 'ready';
  }

  get closed(): boolean {
    return this.#state === 'closed';
  }

  /** `true` while this node closes the connection for idleness and waits for the peer's answer. */
  get closingIdle(): boolean {
    return this.#state === 'closing' && this.#idle;
  }

  /** `true` once the handshake completed, until the socket closes (also while saying goodbye). */
  get established(): boolean {
    return this.#state === 'ready' || this.#state === 'closing' || this.#state === 'leaving';
  }

  /** The remote `host:port` (the address dialled, for a dialled connection). */
  get remote(): string {
    return this.#remote ?? 'an unknown address';
  }

  /** Why a dialled connection ended before it was ready, in plain words. */
  get failure(): string {
    return handshakeFailure(this);
  }

  /** `to|from host:port (name)`, for log lines. */
  describe(): string {
    // Until its cookie proof checked out, a name is only what the other side claims.
    const claim = this.#handshake.proofVerified ? '' : 'claims ';
    const who = this.claimedName === undefined ? '' : ` (${claim}${this.claimedName})`;
    return `${this.initiator ? 'to' : 'from'} ${this.remote}${who}`;
  }

  /** The peer's name, once its HELLO arrived. */
  get peerName(): string | undefined {
    return this.peer?.name;
  }

  /** Bytes waiting to leave on this connection: the writer's queue and the socket's buffer. */
  get sendQueueBytes(): number {
    return this.#writer.pendingBytes;
  }

  /**
   * `true` while {@link sendQueueBytes} is at `maxSendQueueBytes` or over: new requests to this
   * peer are refused (replies still go out). Below it, one more frame of any size may be queued.
   */
  get sendQueueFull(): boolean {
    return this.sendQueueBytes >= this.#host.maxSendQueueBytes;
  }

  /** Queues a complete frame. */
  send(frame: Buffer): void {
    if (this.#state !== 'ready' && this.#state !== 'closing') return;
    if (this.#overflows(frame.length)) return;
    this.#send(frame);
  }

  /** Queues a frame given as header (with length prefix) and body, without copying the body. */
  send2(header: Buffer, body: Buffer): void {
    if (this.#state !== 'ready' && this.#state !== 'closing') return;
    if (this.#overflows(header.length + body.length)) return;
    this.#writer.write2(header, body);
  }

  /**
   * Past the hard ceiling (twice `maxSendQueueBytes` plus one frame) the peer is not reading:
   * the frame is dropped and the connection closed (after this turn, so whoever is sending is
   * not re-entered). Requests are refused long before, at `maxSendQueueBytes`, so only replies
   * and control frames get here.
   */
  #overflows(bytes: number): boolean {
    const queued = this.sendQueueBytes;
    if (!this.#overflowing && queued + bytes <= 2 * this.#host.maxSendQueueBytes + this.sendLimit)
      return false;
    if (!this.#overflowing) {
      this.#overflowing = true;
      const detail =
        `the peer is not reading: ${queued} bytes wait to be sent ` +
        `(maxSendQueueBytes ${this.#host.maxSendQueueBytes})`;
      this.#host.logger.warn(`connection ${this.describe()} closed: ${detail}`);
      this.#publishDropped(detail);
      setImmediate(() => this.#close('closed', detail, false));
    }
    return true;
  }

  /**
   * Says goodbye. Frames that were already on their way are still answered until the peer
   * acknowledges (or {@link GOODBYE_ACK_TIMEOUT_MS} passes); then the socket closes. `'idle'`
   * closes an idle connection only: the peer keeps this node (send it only to a peer whose
   * HELLO had `idleClose`).
   */
  goodbye(reason?: 'idle'): void {
    if (this.#state !== 'ready') {
      if (this.#state === 'handshaking') this.#close('closed', 'closed by this node', false);
      return;
    }
    this.#state = 'closing';
    this.#idle = reason === 'idle';
    this.#send(this.#idle ? IDLE_GOODBYE : buildFrame(MessageType.Goodbye));
    this.#stopTicks?.();
    this.#goodbyeTimer = setTimeout(
      () => this.#close('goodbye', 'goodbye not acknowledged', false),
      GOODBYE_ACK_TIMEOUT_MS,
    );
    this.#goodbyeTimer.unref();
  }

  /** Closes at once, without goodbye. */
  destroy(detail: string): void {
    this.#close('closed', detail, false);
  }

  #send(frame: Buffer): void {
    this.#writer.write(frame);
  }

  #onData(chunk: Buffer): void {
    this.#heartbeat?.received();
    try {
      this.#decoder.push(chunk, this.#onFrame);
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      // A TLS ClientHello (record type 0x16, version 0x03..) read as a frame header.
      const tls = this.#state === 'handshaking' && chunk[0] === 0x16 && chunk[1] === 0x03;
      this.#protocolError(
        tls
          ? 'the peer speaks TLS and this node does not: every node of a cluster needs the tls option, or none'
          : `${err.reason}: ${err.message}`,
      );
    }
  }

  readonly #onFrame = (frame: Buffer): boolean => {
    // A refused connection is ended with a flush and may still receive bytes: ignore them.
    if (this.#state === 'closed') return false;
    if (this.#state === 'handshaking') {
      this.#handshake.onFrame(frame);
      return !this.closed;
    }
    if (!this.#confirmed) this.#confirm();
    const type = frame[0] as number;
    if (type === MessageType.Ping) return true;
    if (type === MessageType.Goodbye) {
      this.#onGoodbye(frame.length > 1 && frame[1] === GoodbyeReason.Idle);
    } else {
      this.#host.onMessage(this, type, frame);
    }
    return !this.closed;
  };

  #onGoodbye(idle: boolean): void {
    if (this.#state === 'closing') {
      // Our goodbye is acknowledged: everything the peer sent before it has been answered.
      this.#close('goodbye', 'closed by this node', true);
    } else if (this.#state === 'ready') {
      // Only a node that announced it understands an idle close is sent one.
      this.#idle = idle && this.#host.acceptsIdleClose;
      this.#writer.write(buildFrame(MessageType.Goodbye));
      this.#writer.flush();
      this.#state = 'leaving';
      this.#stopTicks?.();
      this.#goodbyeTimer = setTimeout(
        () => this.#close('goodbye', 'peer said goodbye', false),
        GOODBYE_ACK_TIMEOUT_MS,
      );
      this.#goodbyeTimer.unref();
      this.#host.onLeaving(this, this.#idle);
    }
  }

  #becomeReady(): void {
    const peer = this.peer as Hello;
    this.sendLimit = Math.min(peer.maxFrameBytes, this.#host.maxFrameBytes);
    this.#decoder.setMaxFrameBytes(this.#host.maxFrameBytes);
    this.#state = 'ready';
    this.#handshake.stop();
    // Ping for the stricter of the two timeouts, so a peer with a shorter one never starves of
    // pings; silence is judged against this node's own timeout, on its own cadence.
    const own = this.#host.heartbeatTimeoutMs;
    const heartbeat = new Heartbeat(this.#heartbeatHost, own);
    this.#heartbeat = heartbeat;
    const stopPings = everyInterval(pingIntervalMs(own, peer.heartbeatTimeoutMs), () =>
      heartbeat.ping(),
    );
    const stopChecks = everyInterval(checkIntervalMs(own), () => heartbeat.check());
    this.#stopTicks = () => {
      stopPings();
      stopChecks();
    };
    this.#host.onReady(this);
    if (this.#handshake.isDecider() && this.#state === 'ready') this.#confirm();
  }

  #confirm(): void {
    this.#confirmed = true;
    this.#host.onConfirmed(this);
  }

  readonly #heartbeatHost = {
    now: () => performance.now(),
    // Written at once: a ping left for the end of the turn would wait out a handler that
    // blocks the loop in this same turn, and the peer would hear nothing for a whole stall more.
    ping: () => {
      this.#writer.write(PING);
      this.#writer.flush();
    },
    silent: (silentMs: number) =>
      this.#close(
        'timeout',
        `nothing received for ${Math.round(silentMs)} ms (heartbeatTimeoutMs ${this.#host.heartbeatTimeoutMs})`,
        false,
      ),
    defer: (check: () => void) => setImmediate(check),
  };

  #protocolError(detail: string): void {
    this.#host.logger.warn(`connection ${this.describe()} dropped: ${detail}`);
    this.#publishDropped(detail);
    this.#close('closed', detail, false);
  }

  #publishDropped(reason: string): void {
    publishConnectionDropped(() => ({
      node: this.#host.selfName,
      remote: this.remote,
      claimedName: this.claimedName,
      reason,
    }));
  }

  #fail(reason: DownReason, detail: string): void {
    this.#close(reason, detail, false);
  }

  #close(reason: DownReason, detail: string, flush: boolean): void {
    if (this.#state === 'closed') return;
    const wasReady = this.established;
    if (this.#state === 'leaving') reason = 'goodbye';
    if (this.#idle) reason = 'idle';
    this.#state = 'closed';
    this.#handshake.stop();
    clearTimeout(this.#goodbyeTimer);
    this.#stopTicks?.();
    this.#heartbeat?.stop();
    this.#writer.close(flush);
    if (flush) this.socket.end();
    else this.socket.destroy();
    // A flushed end() that the peer never acknowledges must not hold the socket forever.
    if (flush) setTimeout(() => this.socket.destroy(), 2_000).unref();
    this.#host.onClose(this, reason, detail, wasReady);
  }
}
