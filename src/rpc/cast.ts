/**
 * Sending casts (a request with no reply): to a connected peer as a CAST frame, to this node's
 * own server through the codec, or, for a peer not connected yet, once a dial under way has
 * connected it (within the node's default call timeout).
 */
import { RpcError } from '../errors.js';
import { channels, OutgoingTrace, traced, traceSettled, traceStart } from '../tracing.js';
import { type CallOptions, checkCallOptions } from './call.js';
import { decodeValue, encodeValue } from './codec.js';
import { IncomingCall } from './context.js';
import type { CallMetadata } from './envelope.js';
import type { RpcLink } from './link.js';
import type { NamesCache } from './names.js';
import {
  checkRequest,
  encodeRequestFor,
  notConnected,
  sendQueueFull,
  unencodable,
} from './outgoing.js';
import type { RpcServer } from './server.js';

/** Options of a cast. */
export interface CastOptions {
  /** Metadata sent with the cast (see {@link CallOptions.meta}). */
  meta?: CallMetadata;
}

/** Where a cast goes: the details its errors carry (a type, so that it is `RpcErrorDetails`). */
type CastDetails = { readonly node: string; readonly module: string; readonly function: string };

/** What casts need from the node (a part of what the client needs: `ClientHost`). */
export interface CastHost {
  readonly selfName: string;
  readonly defaultTimeoutMs: number;
  readonly server: RpcServer;
  /** The ready connection to `peer`, if any. */
  link(peer: string): RpcLink | undefined;
  /**
   * Resolves `true` once `peer` is connected, `false` as soon as no dial under way could
   * connect it (or at `timeoutMs`, or on abort). Without it, requests to a node that is not
   * connected fail at once.
   */
  waitForConnection?(peer: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
}

/** The client's casts. */
export class CastSender {
  readonly #host: CastHost;
  readonly #names: NamesCache;
  /** `true` once the client refuses new requests (the node is closing). */
  readonly #closed: () => boolean;

  constructor(host: CastHost, names: NamesCache, closed: () => boolean) {
    this.#host = host;
    this.#names = names;
    this.#closed = closed;
  }

  /**
   * Sends a cast, traced while `rpc-load-balancer:cast` has subscribers (`balancer` names the
   * balancer that chose the target); resolves once it is handed to the transport.
   */
  cast(
    target: string,
    module: string,
    fn: string,
    args: unknown[],
    options?: CastOptions,
    balancer?: string,
  ): Promise<void> {
    if (!traced(channels.cast)) return this.#send(target, module, fn, args, options);
    const trace = new OutgoingTrace(
      this.#host.selfName,
      balancer,
      target,
      module,
      fn,
      options?.meta,
    );
    traceStart(channels.cast, trace);
    const meta = trace.outgoingMeta;
    const opts = meta === options?.meta ? options : { meta };
    return this.#send(target, module, fn, args, opts).then(
      () => traceSettled(channels.cast, trace, true, undefined),
      (err: unknown) => {
        if (err instanceof RpcError) trace.code = err.code;
        traceSettled(channels.cast, trace, false, err);
        throw err;
      },
    );
  }

  /** Sends a cast; resolves once it is handed to the transport (or run, for the local node). */
  #send(
    target: string,
    module: string,
    fn: string,
    args: unknown[],
    options: CastOptions | undefined,
  ): Promise<void> {
    const local = target === this.#host.selfName;
    const link = local ? null : this.#host.link(target);
    const names = this.#names.get(module, fn);
    const details = { node: target, module, function: fn };
    if (names === null || !Array.isArray(args) || link === undefined) {
      const bad = checkRequest({ target, module, fn, args, details });
      if (bad === undefined && this.#canWait())
        return this.#sendWhenConnected(details, args, options);
      return Promise.reject(bad ?? this.#notConnected(details));
    }
    let meta: CallMetadata | undefined;
    if (options !== undefined) {
      const opts = checkCallOptions({ meta: options.meta }, 1, details);
      if (opts instanceof RpcError) return Promise.reject(opts);
      meta = opts.meta;
    }
    if (link !== null) {
      if (link.wire.sendQueueFull === true) return Promise.reject(sendQueueFull(details));
      const frame = encodeRequestFor(link, 0, 0, names, args, meta, details);
      if (frame instanceof RpcError) return Promise.reject(frame);
      link.send(frame);
      return Promise.resolve();
    }
    let copy: unknown[];
    let metaCopy: CallMetadata | undefined;
    try {
      copy = decodeValue(encodeValue(args)) as unknown[];
      if (meta !== undefined)
        metaCopy = Object.freeze(decodeValue(encodeValue(meta)) as CallMetadata);
    } catch (err) {
      return Promise.reject(unencodable(err, details));
    }
    const call = new IncomingCall(
      this.#host.selfName,
      module,
      fn,
      Number.POSITIVE_INFINITY,
      metaCopy,
    );
    this.#host.server.serve(call, copy);
    return Promise.resolve();
  }

  /** A cast to a node that is not connected yet: sent once it is, within the default call timeout. */
  async #sendWhenConnected(
    to: CastDetails,
    args: unknown[],
    options: CastOptions | undefined,
  ): Promise<void> {
    const connected = await this.#host.waitForConnection?.(to.node, this.#host.defaultTimeoutMs);
    if (!connected || this.#closed()) throw this.#notConnected(to);
    return this.#send(to.node, to.module, to.function, args, options);
  }

  #canWait(): boolean {
    return this.#host.waitForConnection !== undefined && !this.#closed();
  }

  #notConnected(details: CastDetails): RpcError {
    return notConnected(details, this.#closed() ? this.#host.selfName : undefined);
  }
}
