/**
 * What a served call comes to, sent where it is awaited: a reply frame on the caller's
 * connection (with this node's load when the connection has not been told it since it changed,
 * and the handler's trailer), a copy of the result handed to a caller on this node, or a log line
 * for a cast that failed (nobody waits for its reply). A reply that cannot be encoded, or is over
 * the peer's frame limit, is replaced by an error reply. The server decides what a call came to;
 * this module only delivers it, and settles the call's serve trace on the way.
 */
import { RpcError, type RpcErrorDetails, toWireError } from '../errors.js';
import type { Logger } from '../logger.js';
import { channels, traceSettled } from '../tracing.js';
import { MessageType } from '../transport/message-types.js';
import { decodeValue, encodeValue } from './codec.js';
import type { IncomingCall } from './context.js';
import { MAX_ENVELOPE_BYTES } from './envelope.js';
import type { RpcLink } from './link.js';
import { resultError } from './remote-error.js';
import { encodeReply, type OutgoingFrame, type WireLoad } from './wire.js';

/** What replies need from the node (a part of the server's `ServerHost`). */
export interface ReplyHost {
  readonly selfName: string;
  readonly logger: Logger;
}

/** The server's replies. */
export class ReplySender {
  readonly #host: ReplyHost;
  /** This node's load, for a reply on `link` that should carry it (else `undefined`). */
  readonly #loadFor: (link: RpcLink) => WireLoad | undefined;

  constructor(host: ReplyHost, loadFor: (link: RpcLink) => WireLoad | undefined) {
    this.#host = host;
    this.#loadFor = loadFor;
  }

  /** Sends what a call came to: a reply on its connection, to its local caller, or (a cast) a log line. */
  end(call: IncomingCall, ok: boolean, value: unknown): void {
    const trace = call.trace;
    if (trace !== undefined) {
      if (!ok && value instanceof RpcError) trace.code = value.code;
      traceSettled(channels.serve, trace, ok, value);
    }
    const link = call.link;
    if (link !== null) {
      if (call.id !== 0) this.#reply(link, call, ok, value);
      else if (!ok) this.#castFailed(call, value as RpcError);
      return;
    }
    if (call.local === undefined) {
      if (!ok) this.#castFailed(call, value as RpcError);
      return;
    }
    if (!ok) return call.local.end(false, value, call.trailer);
    let copy: unknown;
    try {
      copy = decodeValue(encodeValue(value));
    } catch (err) {
      return call.local.end(false, resultError(err, this.#details(call)), call.trailer);
    }
    call.local.end(true, copy, call.trailer);
  }

  /** Replies on `link`; a reply that cannot be sent is replaced by an error reply (without trailer). */
  #reply(link: RpcLink, call: IncomingCall, ok: boolean, value: unknown, fallback = false): void {
    let load: WireLoad | undefined;
    let trailer: Buffer | undefined;
    if (link.v2) {
      load = this.#loadFor(link);
      if (call.trailer !== undefined && !fallback) trailer = this.#encodeTrailer(link, call);
    }
    const body = ok ? value : toWireError(value as RpcError);
    let frame: OutgoingFrame;
    try {
      frame = encodeReply(
        link.codec,
        ok ? MessageType.ReplyOk : MessageType.ReplyError,
        call.id,
        body,
        load,
        trailer,
      );
    } catch (err) {
      return this.#reply(link, call, false, resultError(err, this.#details(call)), true);
    }
    const bytes =
      frame instanceof Uint8Array ? frame.length : frame.header.length + frame.body.length;
    if (bytes - 4 > link.wire.sendLimit) {
      link.codec.discardEncoder();
      return this.#reply(
        link,
        call,
        false,
        new RpcError(
          'internal_server_error',
          `result of ${bytes - 9} bytes exceeds the frame limit`,
          {
            details: { ...this.#details(call), reason: 'frame_too_large' },
          },
        ),
        true,
      );
    }
    link.send(frame);
  }

  /** The trailer, encoded for `link`; dropped (with a log line) if it cannot be. */
  #encodeTrailer(link: RpcLink, call: IncomingCall): Buffer | undefined {
    try {
      const bytes = link.codec.encode(call.trailer, 0);
      if (bytes.length <= MAX_ENVELOPE_BYTES) return bytes;
      link.codec.discardEncoder();
    } catch {
      // setTrailer checked every value; a value mutated since then may fail here
    }
    this.#host.logger.warn(
      `trailer of ${call.module}.${call.fn} dropped: it cannot be encoded within the limits`,
    );
    return undefined;
  }

  #castFailed(call: IncomingCall, err: RpcError): void {
    this.#host.logger.debug(
      `cast ${call.module}.${call.fn} from ${call.caller} failed: ${err.message}`,
    );
  }

  #details(call: IncomingCall): RpcErrorDetails {
    return { node: this.#host.selfName, module: call.module, function: call.fn };
  }
}
