/**
 * A raw-socket peer for security tests: it can send arbitrary bytes (garbage, hostile headers,
 * truncated frames), or speak the real handshake (HELLO, cookie proof, WELCOME) and then send
 * hand-made frames, to check that a node drops the connection and nothing else.
 *
 * ```ts
 * const peer = await RawPeer.connect(node.address);
 * await peer.handshake({ name: 'raw@127.0.0.1', cookie: COOKIE });
 * peer.sendFrame(0x7f);                       // an unknown message type
 * await peer.waitClosed(2_000);               // the node closed the socket
 * ```
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { parseAddress } from '../../src/addresses.js';
import { MESSAGE_CODEC, StreamCodec, type ValueCodec } from '../../src/rpc/codec.js';
import { baseType, frameBytes, isRpcFrame, replyLayout } from '../../src/rpc/wire.js';
import { FrameDecoder } from '../../src/transport/frame-decoder.js';
import { buildFrame } from '../../src/transport/frames.js';
import {
  cookieProof,
  decodeHello,
  encodeHello,
  type Hello,
  negotiateVersion,
  newNonce,
  proofMatches,
  type VersionRange,
} from '../../src/transport/handshake.js';
import { MessageType } from '../../src/transport/message-types.js';
import { requestFrame } from './frames.js';

export interface HandshakeOptions {
  name: string;
  cookie: string;
  /** The frame limit announced in HELLO. @default 32 MiB */
  maxFrameBytes?: number;
  /**
   * The protocol versions announced in HELLO. @default `{ min: 1, max: 1 }` (the first
   * release's protocol: every message decodes on its own, which suits hand-made frames)
   */
  versions?: VersionRange;
  /** The heartbeat timeout announced in HELLO. @default 3 000 */
  heartbeatTimeoutMs?: number;
  /** Announce that this peer takes an idle close as one (as on-demand nodes do). @default false */
  idleClose?: boolean;
}

/** A decoded reply to a call made with {@link RawPeer.call}. */
export interface RawReply {
  ok: boolean;
  value: unknown;
  /** The reply's trailer, if it carried one (protocol 2). */
  trailer?: unknown;
  /** `true` when the reply carried the server's load (protocol 2). */
  load?: boolean;
}

export class RawPeer {
  /** The local port of the socket (how the node's log lines name this peer). */
  readonly localPort: number | undefined;
  /** When this process saw the TCP connection established (`Date.now()`). */
  readonly connectedAt = Date.now();
  /**
   * When the dial began (`Date.now()`): the node cannot have accepted the connection, nor
   * started a timer for it, before this; `connectedAt` can be much later on a busy machine.
   */
  dialledAt = this.connectedAt;
  /** Payloads (type byte first) received so far, in order. */
  readonly frames: Buffer[] = [];
  /** When each of {@link frames} arrived (`performance.now()`), same index. */
  readonly frameTimes: number[] = [];
  /** When the socket closed (`Date.now()`), once it did. */
  closedAt: number | undefined;
  /** `true` when this side ended the socket (so a close does not count as the node's doing). */
  #selfClosed = false;
  readonly #consumed = new Set<number>();
  /** Replies decoded on arrival, by request id (a protocol-2 codec must decode in order). */
  readonly #replies = new Map<number, RawReply>();
  /** The protocol version agreed in the handshake. */
  protocol = 0;
  /** The codec of the connection, once the handshake is done. */
  codec: ValueCodec = MESSAGE_CODEC;
  #nextId = 1;
  readonly #socket: net.Socket;
  readonly #decoder = new FrameDecoder(2 ** 32 - 1);
  readonly #listeners = new Set<() => void>();

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    this.localPort = socket.localPort;
    socket.on('data', (chunk: Buffer) => {
      try {
        this.#decoder.push(chunk, (payload) => {
          const frame = Buffer.from(payload);
          this.frames.push(frame);
          this.frameTimes.push(performance.now());
          if (isRpcFrame(frame[0] as number)) this.#decodeReply(frame);
          return true;
        });
      } catch {
        // the node sent something we cannot parse: tests look at frames and close only
      }
      this.#notify();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closedAt = Date.now();
      this.#notify();
    });
  }

  /** Opens a TCP connection to `address` (`host:port`). */
  static connect(address: string): Promise<RawPeer> {
    const { host, port } = parseAddress(address, 'address');
    return new Promise((resolve, reject) => {
      const dialledAt = Date.now();
      const socket = net.connect({ host, port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        const peer = new RawPeer(socket);
        peer.dialledAt = dialledAt;
        resolve(peer);
      });
    });
  }

  get closed(): boolean {
    return this.closedAt !== undefined;
  }

  /** Writes raw bytes. */
  send(bytes: Uint8Array): void {
    if (!this.#socket.destroyed) this.#socket.write(bytes);
  }

  /** Writes a well-formed frame `[len][type][body]`. */
  sendFrame(type: number, body?: Uint8Array): void {
    this.send(buildFrame(type, body));
  }

  /**
   * Runs the handshake as a node would and resolves with the node's HELLO once both sides are
   * ready. Rejects when the node refuses (the reason is in the message) or closes.
   */
  async handshake(options: HandshakeOptions, timeoutMs = 5_000): Promise<Hello> {
    const nonce = newNonce();
    this.sendFrame(
      MessageType.Hello,
      encodeHello({
        name: options.name,
        incarnation: randomBytes(8).toString('hex'),
        address: '127.0.0.1:1',
        nonce,
        maxFrameBytes: options.maxFrameBytes ?? 32 * 2 ** 20,
        heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 3_000,
        versions: options.versions ?? { min: 1, max: 1 },
        ...(options.idleClose === true && { idleClose: true }),
      }),
    );
    const hello = decodeHello((await this.nextFrame(MessageType.Hello, timeoutMs)).subarray(1));
    if (typeof hello === 'string') throw new Error(`bad hello from node: ${hello}`);
    this.protocol = negotiateVersion(options.versions ?? { min: 1, max: 1 }, hello.versions) ?? 0;
    this.codec = this.protocol >= 2 ? new StreamCodec() : MESSAGE_CODEC;
    this.sendFrame(
      MessageType.Auth,
      cookieProof(options.cookie, hello.nonce, nonce, options.name, hello.name),
    );
    const auth = await this.nextFrame(MessageType.Auth, timeoutMs);
    const expected = cookieProof(options.cookie, nonce, hello.nonce, hello.name, options.name);
    if (!proofMatches(auth.subarray(1), expected))
      throw new Error('the node’s cookie proof is wrong');
    if (options.name < hello.name) {
      // We decide: welcome first, then the node's WELCOME answers.
      this.sendFrame(MessageType.Welcome);
      await this.nextFrame(MessageType.Welcome, timeoutMs);
    } else {
      await this.nextFrame(MessageType.Welcome, timeoutMs);
      this.sendFrame(MessageType.Welcome);
    }
    // The node's first frame once it is ready is always its peer list.
    await this.nextFrame(MessageType.PeerList, timeoutMs);
    return hello;
  }

  /**
   * Writes `bytes` in pieces cut at `cuts`, waiting `gapMs` between writes so that each piece
   * reaches the node as its own TCP segment.
   */
  async sendInPieces(bytes: Buffer, cuts: number[], gapMs = 15): Promise<void> {
    let start = 0;
    for (const cut of [...cuts, bytes.length]) {
      this.send(bytes.subarray(start, cut));
      start = cut;
      if (cut < bytes.length) await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
  }

  /** A CALL frame (length prefix included) and its id; `args` may be pre-encoded bytes. */
  callFrame(
    module: string,
    fn: string,
    args: unknown[] | Buffer,
    timeoutMs = 5_000,
  ): { id: number; bytes: Buffer } {
    const id = this.#nextId++;
    const frame = requestFrame(id, timeoutMs, module, fn, args, this.codec);
    return {
      id,
      bytes: frameBytes(frame),
    };
  }

  /** Resolves with the decoded reply to request `id`. */
  async reply(id: number, timeoutMs = 5_000): Promise<RawReply> {
    await this.nextFrame(
      (f) =>
        isRpcFrame(f[0] as number) &&
        (baseType(f[0] as number) === MessageType.ReplyOk ||
          baseType(f[0] as number) === MessageType.ReplyError) &&
        f.readUInt32BE(1) === id,
      timeoutMs,
    );
    return this.#replies.get(id) as RawReply;
  }

  /** Sends a CALL (with `argsBytes` as its raw arguments, if given) and resolves with the reply. */
  async call(
    module: string,
    fn: string,
    args: unknown[],
    timeoutMs = 5_000,
    argsBytes?: Buffer,
  ): Promise<RawReply> {
    const { id, bytes } = this.callFrame(module, fn, argsBytes ?? args, timeoutMs);
    this.send(bytes);
    return this.reply(id, timeoutMs);
  }

  /** Decodes a reply as it arrives (in order, as a protocol-2 codec needs). */
  #decodeReply(frame: Buffer): void {
    const type = baseType(frame[0] as number);
    if (type !== MessageType.ReplyOk && type !== MessageType.ReplyError) return;
    const layout = replyLayout(frame);
    if (layout === null) return;
    const reply: RawReply = { ok: type === MessageType.ReplyOk, value: undefined };
    try {
      if (layout.loadAt >= 0) reply.load = true;
      if (layout.envelopeEnd > 0) {
        reply.trailer = this.codec.decode(frame, layout.envelopeStart, layout.envelopeEnd);
      }
      reply.value = this.codec.decode(frame, layout.bodyAt, frame.length);
    } catch (err) {
      reply.value = err;
    }
    this.#replies.set(frame.readUInt32BE(1), reply);
  }

  /**
   * Resolves with the first frame not yet taken of `type` (or matching `predicate`);
   * rejects if the socket closes or `timeoutMs` passes first. A REJECT fails the wait with its reason.
   */
  nextFrame(match: number | ((frame: Buffer) => boolean), timeoutMs = 5_000): Promise<Buffer> {
    const test = typeof match === 'number' ? (f: Buffer) => f[0] === match : match;
    return this.#until(() => {
      for (let i = 0; i < this.frames.length; i++) {
        if (this.#consumed.has(i)) continue;
        const frame = this.frames[i] as Buffer;
        if (test(frame)) {
          this.#consumed.add(i);
          return frame;
        }
        if (frame[0] === MessageType.Reject) {
          this.#consumed.add(i);
          throw new Error(`refused: ${frame.subarray(1).toString()}`);
        }
      }
      if (this.closed) throw new Error('the node closed the connection');
      return undefined;
    }, timeoutMs);
  }

  /**
   * Resolves with the time the node closed the socket; rejects if it is still open after
   * `timeoutMs` (or if this side closed it).
   */
  waitClosed(timeoutMs: number): Promise<number> {
    return this.#until(() => {
      if (this.#selfClosed) throw new Error('closed by the test, not by the node');
      return this.closedAt;
    }, timeoutMs);
  }

  /** Stops reading from the socket: the node's frames pile up in the kernel, then in its queue. */
  pauseReading(): void {
    this.#socket.pause();
  }

  /** Closes the socket from this side. */
  destroy(): void {
    if (!this.closed) this.#selfClosed = true;
    this.#socket.destroy();
  }

  #until<T>(check: () => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = (err: unknown, value?: T) => {
        clearTimeout(timer);
        this.#listeners.delete(poll);
        if (err) reject(err);
        else resolve(value as T);
      };
      const poll = () => {
        try {
          const value = check();
          if (value !== undefined) done(undefined, value);
        } catch (err) {
          done(err);
        }
      };
      const timer = setTimeout(
        () => done(new Error(`raw peer: nothing after ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#listeners.add(poll);
      poll();
    });
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }
}
