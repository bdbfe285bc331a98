/**
 * The handshake of one connection, from its HELLO to the verdict: both sides send HELLO at once,
 * then prove they know the cookie (AUTH), then one of them admits or refuses (WELCOME or
 * REJECT), all within `handshakeTimeoutMs`. What it learns of the peer is written to the
 * connection's public fields; the state change to ready is the connection's, through
 * {@link HandshakeHost}.
 *
 * Who decides: of the two nodes, the one with the smaller name sends the verdict (WELCOME or
 * REJECT) once the cookie proofs check out; the other becomes ready and answers WELCOME; the
 * decider becomes ready on that answer. One decider per pair means two connections dialled at
 * the same moment can never both be accepted, nor both refused. The decider's first frame
 * after it is ready (always a peer list) tells the other side that both are ready.
 */
import type { Connection, ConnectionHost, DownReason } from './connection.js';
import { buildFrame } from './frames.js';
import {
  cookieProof,
  decodeHello,
  encodeHello,
  formatVersions,
  type Hello,
  negotiateVersion,
  newNonce,
  proofMatches,
} from './handshake.js';
import { MessageType, PROTOCOL_VERSIONS } from './message-types.js';

/** What the handshake needs of its connection beyond the connection's public fields. */
export interface HandshakeHost {
  send(frame: Buffer): void;
  /** Ends the connection; `flush`: once what is queued (a REJECT) has left. */
  close(reason: DownReason, detail: string, flush: boolean): void;
  /** Drops the connection over a frame it cannot take (logged, and published as dropped). */
  protocolError(detail: string): void;
  /** Publishes a refused or dropped connection on the diagnostics channel. */
  publishDropped(reason: string): void;
  /** Both sides agreed: the connection is ready. */
  becomeReady(): void;
}

/** Why `conn`, dialled, ended before it was ready, in plain words. */
export function handshakeFailure(conn: Connection): string {
  if (conn.refusal !== undefined) return conn.refusal;
  if (conn.socketError !== undefined) return conn.socketError;
  if (conn.claimedName !== undefined) return 'the peer closed the connection during the handshake';
  return 'encrypted' in conn.socket
    ? "the peer closed the connection during the TLS handshake (it may not accept this node's certificate)"
    : 'the peer closed the connection without a hello (is it a node of this cluster? does it use TLS?)';
}

export class Handshake {
  readonly #host: HandshakeHost;
  readonly #node: ConnectionHost;
  readonly #conn: Connection;
  readonly #nonce = newNonce();
  #proofVerified = false;
  #welcomed = false;
  readonly #timer: NodeJS.Timeout;

  /** Starts the handshake's timer and sends this node's HELLO. */
  constructor(host: HandshakeHost, node: ConnectionHost, conn: Connection) {
    this.#host = host;
    this.#node = node;
    this.#conn = conn;
    this.#timer = setTimeout(() => this.#timedOut(), node.handshakeTimeoutMs);
    this.#timer.unref();
    host.send(
      buildFrame(
        MessageType.Hello,
        encodeHello({
          name: node.selfName,
          incarnation: node.incarnation,
          address: node.advertisedAddress,
          nonce: this.#nonce,
          maxFrameBytes: node.maxFrameBytes,
          heartbeatTimeoutMs: node.heartbeatTimeoutMs,
          ...(node.acceptsIdleClose && { idleClose: true }),
        }),
      ),
    );
  }

  /** `true` once the peer's cookie proof checked out (until then its name is only a claim). */
  get proofVerified(): boolean {
    return this.#proofVerified;
  }

  /** `true` when this node sends the verdict (the smaller name of the two). */
  isDecider(): boolean {
    return this.#node.selfName < (this.#conn.peer as Hello).name;
  }

  /** The handshake is over (the connection is ready, or closed): its timer stops. */
  stop(): void {
    clearTimeout(this.#timer);
  }

  /** A frame arrived before the connection was ready. */
  onFrame(frame: Buffer): void {
    const type = frame[0];
    const body = frame.subarray(1);
    if (type === MessageType.Hello && !this.#conn.peer) return this.#onHello(body);
    if (type === MessageType.Auth && this.#conn.peer && !this.#proofVerified)
      return this.#onAuth(body);
    if (type === MessageType.Welcome && this.#proofVerified) {
      if (!this.isDecider()) return this.#accept();
      if (this.#welcomed) return this.#host.becomeReady();
    }
    if (type === MessageType.Reject) {
      const reason = body.toString('utf8', 0, Math.min(body.length, 200));
      this.#conn.refusal = reason;
      return this.#host.close(
        'closed',
        `refused by ${this.#conn.claimedName ?? 'the peer'}: ${reason}`,
        false,
      );
    }
    this.#host.protocolError(`unexpected handshake message 0x${(type ?? 0).toString(16)}`);
  }

  #onHello(body: Buffer): void {
    const conn = this.#conn;
    const node = this.#node;
    const hello = decodeHello(body);
    if (typeof hello === 'string') return this.#host.protocolError(hello);
    conn.claimedName = hello.name;
    if (hello.name === node.selfName) {
      node.logger.debug(`connection ${conn.describe()} refused: it is this node itself`);
      return this.#refuse('a node cannot connect to itself');
    }
    const version = negotiateVersion(PROTOCOL_VERSIONS, hello.versions);
    if (version === undefined) {
      const reason = `no common protocol version (this node speaks ${formatVersions(PROTOCOL_VERSIONS)}, ${hello.name} speaks ${formatVersions(hello.versions)})`;
      conn.peer = hello;
      // A node of another version keeps re-dialling: one warning a minute is enough.
      node.warnLimited(
        `version ${conn.socket.remoteAddress} ${hello.name}`,
        `connection ${conn.describe()} refused: ${reason}`,
      );
      this.#host.publishDropped(reason);
      return this.#refuse(reason);
    }
    conn.protocol = version;
    conn.peer = hello;
    const proof = cookieProof(node.cookie, hello.nonce, this.#nonce, node.selfName, hello.name);
    this.#host.send(buildFrame(MessageType.Auth, proof));
  }

  #onAuth(body: Buffer): void {
    const conn = this.#conn;
    const node = this.#node;
    const peer = conn.peer as Hello;
    const expected = cookieProof(node.cookie, this.#nonce, peer.nonce, peer.name, node.selfName);
    if (!proofMatches(body, expected)) {
      node.warnLimited(
        `cookie ${conn.socket.remoteAddress} ${peer.name}`,
        `connection ${conn.describe()} refused: wrong cookie (the cookies of the two nodes differ)`,
      );
      this.#host.publishDropped('wrong cookie');
      return this.#refuse('wrong cookie');
    }
    this.#proofVerified = true;
    if (this.isDecider()) this.#accept();
  }

  #accept(): void {
    const refusal = this.#node.admit(this.#conn);
    if (refusal !== null) return this.#refuse(refusal);
    this.#host.send(buildFrame(MessageType.Welcome));
    if (this.isDecider()) this.#welcomed = true;
    else this.#host.becomeReady();
  }

  #refuse(reason: string): void {
    this.#conn.refusal = reason;
    this.#host.send(buildFrame(MessageType.Reject, Buffer.from(reason)));
    this.#host.close('closed', `refused: ${reason}`, true);
  }

  /** A peer that never completes the handshake (silent, or a truncated frame) is dropped. */
  #timedOut(): void {
    const conn = this.#conn;
    const detail = `handshake timed out after ${this.#node.handshakeTimeoutMs} ms`;
    conn.socketError ??= detail;
    // An incoming one is a stranger worth a warning; a dial's failure is reported by connect().
    const logger = this.#node.logger;
    if (conn.initiator) logger.debug(`connection ${conn.describe()} dropped: ${detail}`);
    else logger.warn(`connection ${conn.describe()} dropped: ${detail}`);
    this.#host.publishDropped(detail);
    this.#host.close('timeout', detail, false);
  }
}
