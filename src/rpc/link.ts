/**
 * The RPC layer's view of one connection: the narrow {@link Wire} it sends on, the codec both
 * directions use, and the per-connection state of the client and the server.
 */
import { MESSAGE_CODEC, StreamCodec, type ValueCodec } from './codec.js';
import type { IncomingCall } from './context.js';
import type { ServerLoad } from './load.js';
import type { OutgoingFrame } from './wire.js';

/** What the RPC layer needs of a connection (the transport's `Connection` fits). */
export interface Wire {
  /** The peer's node name. */
  readonly peerName: string | undefined;
  /** The largest frame the peer accepts. */
  readonly sendLimit: number;
  /** The protocol version the connection speaks. */
  readonly protocol: number;
  /** `true` once nothing more can be sent or received. */
  readonly closed: boolean;
  /** `true` while the bytes waiting to be written are over the node's limit. */
  readonly sendQueueFull?: boolean;
  /** Queues a complete frame. */
  send(frame: Buffer): void;
  /** Queues a frame given as header and body, without copying the body. */
  send2(header: Buffer, body: Buffer): void;
}

/** Per-connection RPC state, created when the connection becomes ready. */
export class RpcLink {
  /** The peer's node name. */
  readonly peer: string;
  /** Encodes what this node sends and decodes what it receives on this connection. */
  readonly codec: ValueCodec;
  /** `true` when the connection speaks protocol 2 (envelopes, load, probes). */
  readonly v2: boolean;
  /** Server side: calls from this peer being served, by request id (only the asynchronous ones). */
  readonly active = new Map<number, IncomingCall>();
  /** Server side: the load epoch last reported to this peer. */
  loadEpoch = -1;
  /** Client side: the latest load this peer reported. */
  load: ServerLoad | undefined;
  /** Client side: the round trip of the last load probe answered on this connection, in ms. */
  rttMs: number | undefined;
  /**
   * Bumped for every call, cast, reply and probe sent or received on this connection (the idle
   * reaper compares it between sweeps: a counter, so the hot path reads no clock).
   */
  activity = 0;
  /**
   * Set when this node closes the connection for idleness: a call that still arrives on it is
   * refused as not executed (`connection_idle`), and its caller sends it again instead of losing it.
   */
  closingIdle = false;

  constructor(readonly wire: Wire) {
    this.peer = wire.peerName as string;
    this.v2 = wire.protocol >= 2;
    this.codec = this.v2 ? new StreamCodec() : MESSAGE_CODEC;
  }

  /** Queues a frame. */
  send(frame: OutgoingFrame): void {
    this.activity++;
    if (frame instanceof Uint8Array) this.wire.send(frame);
    else this.wire.send2(frame.header, frame.body);
  }
}
