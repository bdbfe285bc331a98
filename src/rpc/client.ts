/**
 * Making calls, casts and load probes: validation, the pending-request table, timeouts, aborts
 * and cancellation, reading replies (result, trailer, the server's load), and failing every
 * pending call at once when its connection drops. Casts are sent by cast.ts, probes tracked by
 * probes.ts, a traced `node.call` made in call.ts, a call refused for idleness sent again by
 * idle-resend.ts; checking and encoding a request, and the errors it can end with, are pure
 * helpers in outgoing.ts.
 */
import { fromWireError, RpcError, type RpcErrorDetails } from '../errors.js';
import type { Logger } from '../logger.js';
import { describe } from '../options.js';
import { channels, traced } from '../tracing.js';
import { MessageType } from '../transport/message-types.js';
import { AbortWatch } from './abort-watch.js';
import {
  type CallOptions,
  checkCallOptions,
  DirectCall,
  type OutgoingCall,
  tracedDirectCall,
} from './call.js';
import { type CastHost, type CastOptions, CastSender } from './cast.js';
import { decodeValue, encodeValue } from './codec.js';
import { IncomingCall, type LocalReply } from './context.js';
import { DeadlineQueue } from './deadlines.js';
import type { CallMetadata } from './envelope.js';
import { IdleResender } from './idle-resend.js';
import type { RpcLink } from './link.js';
import type { ServerLoad } from './load.js';
import { NamesCache } from './names.js';
import {
  callTimedOut,
  checkRequest,
  connectionLost,
  encodeFor,
  nodeClosed,
  notConnected,
  sendQueueFull,
  unencodable,
  withCallSite,
} from './outgoing.js';
import { ProbeTable } from './probes.js';
import {
  baseType,
  encodeCancel,
  FrameFlag,
  frameId,
  type OutgoingFrame,
  readLoad,
  replyLayout,
} from './wire.js';

export type { CallOptions } from './call.js';
export type { CastOptions } from './cast.js';

/** What the client needs from the node (what casts need of it is declared in cast.ts). */
export interface ClientHost extends CastHost {
  /** Capture the caller's stack at every call, for errors raised later (costs a few µs per call). */
  readonly captureCallSites: boolean;
  readonly logger: Logger;
}

const LOAD_OR_ENVELOPE = FrameFlag.Load | FrameFlag.Envelope;

export class RpcClient {
  readonly #host: ClientHost;
  readonly #pending = new Map<number, OutgoingCall>();
  readonly #probes = new ProbeTable();
  readonly #aborts = new AbortWatch<OutgoingCall>();
  readonly #deadlines = new DeadlineQueue<OutgoingCall>((call) => this.#onTimeout(call));
  readonly #names = new NamesCache();
  readonly #casts: CastSender;
  readonly #resends: IdleResender;
  #nextId = 1;
  #closed = false;

  constructor(host: ClientHost) {
    this.#host = host;
    this.#casts = new CastSender(host, this.#names, () => this.#closed);
    this.#resends = new IdleResender(host, this.#names, {
      pending: this.#pending,
      allocateId: () => this.#allocateId(),
      fail: (call, err) => this.#settle(call, false, err, false),
      closed: () => this.#closed,
    });
  }

  /** Calls waiting for a reply. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * The connections with a call or probe waiting for its reply (an idle connection with one is
   * not closed). Walks the pending table: for a periodic sweep, never per call.
   */
  busyLinks(): Set<RpcLink> {
    const busy = new Set<RpcLink>();
    for (const call of this.#pending.values()) if (call.link !== null) busy.add(call.link);
    this.#probes.addLinksTo(busy);
    return busy;
  }

  /** The latest load `peer` reported (in a reply or a probe answer), if any. */
  peerLoad(peer: string): ServerLoad | undefined {
    return this.#host.link(peer)?.load;
  }

  /** `node.call`: one attempt, settling the returned promise. */
  call(
    target: string,
    module: string,
    fn: string,
    args: unknown[],
    options?: CallOptions,
  ): Promise<unknown> {
    const opts = checkCallOptions(options, this.#host.defaultTimeoutMs, {
      node: target,
      module,
      function: fn,
    });
    if (opts instanceof RpcError) return Promise.reject(opts);
    const call = traced(channels.call)
      ? tracedDirectCall(this.#host.selfName, target, module, fn, args, opts)
      : new DirectCall(target, module, fn, args, opts);
    if (this.#host.captureCallSites) Error.captureStackTrace((call.site = {}), this.call);
    this.start(call);
    return call.promise;
  }

  /**
   * Starts one attempt: checks it, sends it (or runs it, for the local node) and tracks it
   * until it ends through `call.end` — at once when it cannot be sent.
   */
  start(call: OutgoingCall): void {
    const target = call.target;
    const local = target === this.#host.selfName;
    const link = local ? null : this.#host.link(target);
    const names = this.#names.get(call.module, call.fn);
    // The usual case is checked cheaply: a connected (hence valid) target, sane names and args.
    if (names === null || !Array.isArray(call.args) || link === undefined) {
      const bad = checkRequest(call);
      if (bad === undefined && this.#canWait()) return this.#startWhenConnected(call);
      return this.#fail(call, bad ?? this.#notConnected(call.details));
    }
    const signal = call.signal;
    if (signal?.aborted) return call.end(false, signal.reason);
    if (link !== null && link.wire.sendQueueFull === true) {
      return this.#fail(call, sendQueueFull(call.details));
    }
    const id = this.#allocateId();
    let frame: OutgoingFrame | RpcError | undefined;
    if (link !== null) {
      frame = encodeFor(link, id, call, names);
      if (frame instanceof RpcError) return this.#fail(call, frame);
    }
    call.id = id;
    call.link = link;
    call.settled = false;
    call.code = undefined;
    call.load = undefined;
    this.#pending.set(id, call);
    this.#deadlines.add(call, call.timeoutMs);
    if (signal) {
      call.onAbort = () => this.#settle(call, false, signal.reason, true);
      this.#aborts.watch(signal, call);
    }
    if (link !== null) link.send(frame as OutgoingFrame);
    else this.#callLocal(call);
  }

  /** Sends a cast; resolves once it is handed to the transport (or run, for the local node). */
  cast(
    target: string,
    module: string,
    fn: string,
    args: unknown[],
    options?: CastOptions,
    balancer?: string,
  ): Promise<void> {
    return this.#casts.cast(target, module, fn, args, options, balancer);
  }

  /**
   * Asks `peer` for its load (a PROBE answered by its RPC layer, no handler). Rejects with
   * `service_unavailable` when the peer is not connected, speaks protocol 1, does not answer
   * within `timeoutMs`, or its connection drops.
   */
  probe(peer: string, timeoutMs: number): Promise<ServerLoad> {
    const link = this.#host.link(peer);
    if (link === undefined) return Promise.reject(this.#notConnected({ node: peer }));
    return this.#probes.send(link, peer, timeoutMs);
  }

  /**
   * A reply frame arrived on `link`. Returns `false` when the connection must be closed: on
   * protocol 2 a reply that does not decode leaves the codec out of step with the sender's.
   */
  onReply(link: RpcLink, frame: Buffer): boolean {
    const type = frame[0] as number;
    const call = this.#pending.get(frameId(frame));
    let value: unknown;
    let load: ServerLoad | undefined;
    let trailer: unknown;
    try {
      if ((type & LOAD_OR_ENVELOPE) === 0) {
        value = link.codec.decode(frame, 5, frame.length);
      } else {
        const layout = replyLayout(frame);
        if (layout === null) throw new RangeError('malformed reply');
        if (layout.loadAt >= 0) {
          const wire = readLoad(frame, layout.loadAt);
          load = link.load = { inFlight: wire.inFlight, elu: wire.elu, at: performance.now() };
        }
        if (layout.envelopeEnd > 0) {
          trailer = link.codec.decode(frame, layout.envelopeStart, layout.envelopeEnd);
        }
        value = link.codec.decode(frame, layout.bodyAt, frame.length);
      }
    } catch {
      if (link.codec.ordered) {
        this.#host.logger.warn(`undecodable reply from ${link.peer}; closing the connection`);
        return false;
      }
      if (call !== undefined && call.link === link) {
        this.#settle(
          call,
          false,
          new RpcError('internal_server_error', 'malformed reply', { details: call.details }),
          false,
        );
      }
      return true;
    }
    // A reply for an id we don't have (already timed out) or from the wrong peer is ignored.
    if (call === undefined || call.link !== link) return true;
    if (load !== undefined) call.load = load;
    if (trailer !== undefined) this.#deliverTrailer(call, trailer);
    if (baseType(type) === MessageType.ReplyOk) this.#settle(call, true, value, false);
    else this.#failed(call, fromWireError(value, call.details));
    return true;
  }

  /**
   * A call refused by its target. One that reached the target while the target was closing the
   * connection for idleness did not run: idle-resend.ts sends it again over a new connection.
   */
  #failed(call: OutgoingCall, err: RpcError): void {
    if (!this.#resends.tryResend(call, err)) this.#settle(call, false, err, false);
  }

  /** A PROBE answer arrived on `link`. */
  onProbeReply(link: RpcLink, frame: Buffer): void {
    this.#probes.onReply(link, frame);
  }

  /** The connection dropped: every call pending on it fails now with `service_unavailable`. */
  onConnectionClosed(link: RpcLink, reason: string): void {
    for (const call of this.#pending.values()) {
      if (call.link === link) this.#settle(call, false, connectionLost(call, reason), false);
    }
    this.#probes.onConnectionClosed(link, reason);
  }

  /** Fails every pending call and probe, and every later one with `node_closed` (the node is closing). */
  rejectAll(message: string): void {
    this.#closed = true;
    for (const call of this.#pending.values()) {
      this.#settle(call, false, nodeClosed(call, message), false);
    }
    this.#probes.rejectAll(message);
    this.#deadlines.clear();
  }

  #callLocal(call: OutgoingCall): void {
    let args: unknown[];
    let meta: CallMetadata | undefined;
    try {
      args = decodeValue(encodeValue(call.args)) as unknown[];
      if (call.meta !== undefined)
        meta = Object.freeze(decodeValue(encodeValue(call.meta)) as CallMetadata);
    } catch (err) {
      return this.#settle(call, false, unencodable(err, call.details), false);
    }
    const incoming = new IncomingCall(
      this.#host.selfName,
      call.module,
      call.fn,
      Date.now() + call.timeoutMs,
      meta,
    );
    const reply: LocalReply = {
      end: (ok, value, trailer) => {
        if (this.#pending.get(call.id) !== call) return;
        const load = this.#host.server.load;
        call.load = { inFlight: load.inFlight, elu: load.elu, at: performance.now() };
        if (trailer !== undefined) this.#deliverTrailer(call, decodeValue(encodeValue(trailer)));
        this.#settle(call, ok, value, false);
      },
    };
    incoming.local = reply;
    const onAbort = call.onAbort;
    if (onAbort) {
      call.onAbort = () => {
        incoming.abort(call.signal?.reason);
        onAbort();
      };
    }
    this.#host.server.serve(incoming, args);
  }

  #deliverTrailer(call: OutgoingCall, trailer: unknown): void {
    if (call.onTrailer === undefined || typeof trailer !== 'object' || trailer === null) return;
    try {
      call.onTrailer(Object.freeze(trailer as Record<string, unknown>));
    } catch (err) {
      this.#host.logger.warn(
        `onTrailer of a call to ${call.target} ${call.module}.${call.fn} threw: ${(err as Error)?.message ?? describe(err)}`,
      );
    }
  }

  readonly #onTimeout = (call: OutgoingCall): void => {
    this.#settle(call, false, callTimedOut(call), true);
  };

  /** An attempt that never started ends with `err`. */
  #fail(call: OutgoingCall, err: RpcError): void {
    call.code = err.code;
    call.load = undefined;
    call.end(false, withCallSite(err, call.site));
  }

  /** Settles a pending attempt once; `cancel` tells the callee to stop. */
  #settle(call: OutgoingCall, ok: boolean, outcome: unknown, cancel: boolean): void {
    if (this.#pending.get(call.id) !== call) return;
    this.#pending.delete(call.id);
    call.settled = true;
    this.#deadlines.settled(call.timeoutMs);
    if (call.signal) this.#aborts.unwatch(call.signal, call);
    const link = call.link;
    if (cancel && link !== null && !link.wire.closed) link.wire.send(encodeCancel(call.id));
    if (!ok) call.code = outcome instanceof RpcError ? outcome.code : undefined;
    call.end(ok, outcome);
  }

  #allocateId(): number {
    let id = this.#nextId;
    // Ids wrap at 2^32 - 1; 0 means "cast". Skip any id still pending after a wrap.
    do {
      id = id >= 0xffffffff ? 1 : id + 1;
    } while (this.#pending.has(id));
    this.#nextId = id;
    return id;
  }

  #canWait(): boolean {
    return this.#host.waitForConnection !== undefined && !this.#closed;
  }

  /**
   * A call to a node that is not connected yet (`node.call` right after `startNode({ seeds })`):
   * waits, within its timeout, while a dial could lead to it, then goes with the time left.
   */
  #startWhenConnected(call: OutgoingCall): void {
    const started = performance.now();
    const wait = this.#host.waitForConnection?.(call.target, call.timeoutMs, call.signal);
    void wait?.then((connected) => {
      if (call.signal?.aborted) return call.end(false, call.signal.reason);
      if (!connected || this.#closed) return this.#fail(call, this.#notConnected(call.details));
      call.timeoutMs = Math.max(1, Math.round(call.timeoutMs - (performance.now() - started)));
      this.start(call);
    });
  }

  #notConnected(details: RpcErrorDetails): RpcError {
    return notConnected(details, this.#closed ? this.#host.selfName : undefined);
  }
}
