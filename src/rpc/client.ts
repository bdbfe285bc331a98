/**
 * Making calls and casts: validation, the pending-request table, timeouts, aborts and
 * cancellation, and failing every pending call at once when its connection drops.
 */
import { fromWireError, RpcError, type RpcErrorDetails } from '../errors.js';
import { describe, isValidNodeName, MAX_TIMEOUT_MS } from '../options.js';
import type { Connection } from '../transport/connection.js';
import { MessageType } from '../transport/message-types.js';
import { AbortWatch } from './abort-watch.js';
import { decodeValue, decodeValueAt, encodeValue } from './codec.js';
import { CallRecord } from './context.js';
import { DeadlineQueue, type Expiring } from './deadlines.js';
import type { RpcServer } from './server.js';
import {
  encodeCancel,
  encodeRequestValue,
  frameId,
  NamesCache,
  nameBytes,
  type OutgoingFrame,
} from './wire.js';

/** Options of a call. */
export interface CallOptions {
  /** Milliseconds to wait for the reply. @default the node's `callTimeoutMs` (10 000) */
  timeout?: number;
  /** Aborts the call: it rejects with the signal's reason and the callee's handler sees its signal abort. */
  signal?: AbortSignal;
}

/** What the client needs from the node. */
export interface ClientHost {
  readonly selfName: string;
  readonly defaultTimeoutMs: number;
  /** Capture the caller's stack at every call, for errors raised later (costs a few µs per call). */
  readonly captureCallSites: boolean;
  readonly server: RpcServer;
  connection(peer: string): Connection | undefined;
  send(conn: Connection, frame: OutgoingFrame): void;
}

/** A call waiting for its reply. `conn` is `null` for a local call. */
class Pending implements Expiring {
  deadline = 0;
  settled = false;
  timeoutMs = 0;
  onAbort: (() => void) | undefined;
  resolve: (value: unknown) => void = noop;
  reject: (err: unknown) => void = noop;
  constructor(
    readonly id: number,
    readonly conn: Connection | null,
    readonly target: string,
    readonly module: string,
    readonly fn: string,
    readonly signal: AbortSignal | undefined,
    /** The caller's stack, captured when the call started, for errors raised later. */
    readonly site: { stack?: string } | undefined,
  ) {}

  /** Built only when an error needs it: most calls never fail. */
  get details(): RpcErrorDetails {
    return { node: this.target, module: this.module, function: this.fn };
  }
}

function noop(): void {}

export class RpcClient {
  readonly #host: ClientHost;
  readonly #pending = new Map<number, Pending>();
  readonly #aborts = new AbortWatch<Pending>();
  readonly #deadlines = new DeadlineQueue<Pending>((pending) => this.#onTimeout(pending));
  readonly #names = new NamesCache();
  #nextId = 1;

  constructor(host: ClientHost) {
    this.#host = host;
  }

  /** Calls waiting for a reply. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  call(
    target: string,
    module: string,
    fn: string,
    args: unknown[],
    options?: CallOptions,
  ): Promise<unknown> {
    let site: { stack?: string } | undefined;
    if (this.#host.captureCallSites) Error.captureStackTrace((site = {}), this.call);
    const local = target === this.#host.selfName;
    const conn = local ? null : this.#host.connection(target);
    const names = this.#names.get(module, fn);
    // The usual case is checked cheaply: a connected (hence valid) target, sane names and args.
    if (names === null || !Array.isArray(args) || conn === undefined) {
      const details = { node: target, module, function: fn };
      return Promise.reject(
        checkRequest(target, module, fn, args, details) ?? notConnected(details),
      );
    }
    let timeout = this.#host.defaultTimeoutMs;
    let signal: AbortSignal | undefined;
    if (options !== undefined) {
      const opts = checkCallOptions(options, timeout, { node: target, module, function: fn });
      if (opts instanceof RpcError) return Promise.reject(opts);
      ({ timeout, signal } = opts);
      if (signal?.aborted) return Promise.reject(signal.reason);
    }
    const id = this.#allocateId();
    let encoded: OutgoingFrame | RpcError;
    if (conn) {
      encoded = encodeFor(conn, id, timeout, names, args, target, module, fn);
    } else {
      try {
        encoded = encodeValue(args);
      } catch (err) {
        encoded = unencodable(err, { node: target, module, function: fn });
      }
    }
    if (encoded instanceof RpcError) return Promise.reject(encoded);
    const pending = new Pending(id, conn, target, module, fn, signal, site);
    const promise = new Promise<unknown>((resolve, reject) => {
      pending.resolve = resolve;
      pending.reject = reject;
    });
    this.#pending.set(pending.id, pending);
    pending.timeoutMs = timeout;
    this.#deadlines.add(pending, timeout);
    if (signal) {
      pending.onAbort = () => this.#settle(pending, signal.reason, true);
      this.#aborts.watch(signal, pending);
    }
    if (conn) this.#host.send(conn, encoded);
    else this.#callLocal(pending, module, fn, encoded as Buffer, Date.now() + timeout);
    return promise;
  }

  /** Sends a cast; resolves once it is handed to the transport (or run, for the local node). */
  cast(target: string, module: string, fn: string, args: unknown[]): Promise<void> {
    const local = target === this.#host.selfName;
    const conn = local ? null : this.#host.connection(target);
    const names = this.#names.get(module, fn);
    // As in `call`: the usual case is checked cheaply, the errors are told apart only when needed.
    if (names === null || !Array.isArray(args) || conn === undefined) {
      const details = { node: target, module, function: fn };
      return Promise.reject(
        checkRequest(target, module, fn, args, details) ?? notConnected(details),
      );
    }
    if (conn) {
      const frame = encodeFor(conn, 0, 0, names, args, target, module, fn);
      if (frame instanceof RpcError) return Promise.reject(frame);
      this.#host.send(conn, frame);
      return Promise.resolve();
    }
    let body: Buffer;
    try {
      body = encodeValue(args);
    } catch (err) {
      return Promise.reject(unencodable(err, { node: target, module, function: fn }));
    }
    const record = new CallRecord(this.#host.selfName, module, fn, Number.POSITIVE_INFINITY);
    this.#host.server.invokeLocal(module, fn, decodeValue(body) as unknown[], record, {
      resolve() {},
      reject() {},
    });
    return Promise.resolve();
  }

  /** A reply frame arrived on `conn`. */
  onReply(conn: Connection, frame: Buffer): void {
    const pending = this.#pending.get(frameId(frame));
    // A reply for an id we don't have (already timed out) or from the wrong peer is ignored.
    if (!pending || pending.conn !== conn) return;
    let value: unknown;
    try {
      value = decodeValueAt(frame, 5);
    } catch {
      this.#settle(
        pending,
        new RpcError('internal_server_error', 'malformed reply', { details: pending.details }),
        false,
      );
      return;
    }
    if (frame[0] === MessageType.ReplyOk) this.#settle(pending, value, false, true);
    else this.#settle(pending, fromWireError(value, pending.details), false);
  }

  /** The connection dropped: every call pending on it fails now with `service_unavailable`. */
  onConnectionClosed(conn: Connection, reason: string): void {
    for (const pending of this.#pending.values()) {
      if (pending.conn !== conn) continue;
      const err = new RpcError(
        'service_unavailable',
        `connection to ${pending.details.node} lost (${reason})`,
        {
          details: { ...pending.details, reason: 'connection_lost' },
        },
      );
      this.#settle(pending, withCallSite(err, pending.site), false);
    }
  }

  /** Fails every pending call (the node is closing). */
  rejectAll(message: string): void {
    for (const pending of this.#pending.values()) {
      const err = new RpcError('service_unavailable', message, {
        details: { ...pending.details, reason: 'node_closed' },
      });
      this.#settle(pending, withCallSite(err, pending.site), false);
    }
    this.#deadlines.clear();
  }

  #callLocal(pending: Pending, module: string, fn: string, body: Buffer, deadline: number): void {
    const record = new CallRecord(this.#host.selfName, module, fn, deadline);
    const onAbort = pending.onAbort;
    if (onAbort) {
      pending.onAbort = () => {
        record.abort(pending.signal?.reason);
        onAbort();
      };
    }
    this.#host.server.invokeLocal(module, fn, decodeValue(body) as unknown[], record, {
      resolve: (value) => this.#settle(pending, value, false, true),
      reject: (err) => this.#settle(pending, err, false),
    });
  }

  readonly #onTimeout = (pending: Pending): void => {
    const timeoutMs = pending.timeoutMs;
    const err = new RpcError(
      'request_timeout',
      `call to ${pending.details.node} timed out after ${timeoutMs} ms`,
      {
        details: { ...pending.details, timeoutMs },
      },
    );
    this.#settle(pending, withCallSite(err, pending.site), true);
  };

  /** Settles a pending call once; `cancel` tells the callee to stop. */
  #settle(pending: Pending, outcome: unknown, cancel: boolean, ok = false): void {
    if (this.#pending.get(pending.id) !== pending) return;
    this.#pending.delete(pending.id);
    pending.settled = true;
    this.#deadlines.settled(pending.timeoutMs);
    if (pending.signal) this.#aborts.unwatch(pending.signal, pending);
    if (cancel && pending.conn && !pending.conn.closed) pending.conn.send(encodeCancel(pending.id));
    if (ok) pending.resolve(outcome);
    else pending.reject(outcome);
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
}

/** What is wrong with a request's target, names or arguments, if anything. */
function checkRequest(
  target: unknown,
  module: unknown,
  fn: unknown,
  args: unknown,
  details: RpcErrorDetails,
): RpcError | undefined {
  if (!isValidNodeName(target))
    return badRequest(`invalid node name ${describe(target)}`, details, 'node');
  if (nameBytes(module) < 0)
    return badRequest(`invalid module name ${describe(module)}`, details, 'module');
  if (nameBytes(fn) < 0)
    return badRequest(`invalid function name ${describe(fn)}`, details, 'function');
  if (!Array.isArray(args))
    return badRequest(`args must be an array, received ${describe(args)}`, details, 'args');
  return undefined;
}

/**
 * The CALL (`id` > 0) or CAST frame for `conn`, or the error that stops the request: arguments
 * that cannot be encoded, or a frame over the peer's limit.
 */
function encodeFor(
  conn: Connection,
  id: number,
  timeoutMs: number,
  names: Buffer,
  args: unknown[],
  target: string,
  module: string,
  fn: string,
): OutgoingFrame | RpcError {
  let frame: OutgoingFrame;
  try {
    frame = encodeRequestValue(id, timeoutMs, names, args);
  } catch (err) {
    return unencodable(err, { node: target, module, function: fn });
  }
  const bytes = frameLength(frame) - 4;
  if (bytes <= conn.sendLimit) return frame;
  return tooLarge(bytes, conn.sendLimit, { node: target, module, function: fn });
}

function checkCallOptions(
  options: CallOptions | undefined,
  defaultTimeout: number,
  details: RpcErrorDetails,
): RpcError | { timeout: number; signal: AbortSignal | undefined } {
  if (options === undefined) return { timeout: defaultTimeout, signal: undefined };
  if (typeof options !== 'object' || options === null)
    return badRequest(
      `options must be an object, received ${describe(options)}`,
      details,
      'options',
    );
  const timeout = options.timeout ?? defaultTimeout;
  if (typeof timeout !== 'number' || !(timeout > 0) || timeout > MAX_TIMEOUT_MS) {
    return badRequest(
      `timeout must be a number of ms from 1 to ${MAX_TIMEOUT_MS}, received ${describe(timeout)}`,
      details,
      'timeout',
    );
  }
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    return badRequest(
      `signal must be an AbortSignal, received ${describe(signal)}`,
      details,
      'signal',
    );
  }
  return { timeout: Math.ceil(timeout), signal };
}

/** Bytes an outgoing frame puts on the wire, length prefix included. */
function frameLength(frame: OutgoingFrame): number {
  return frame instanceof Uint8Array ? frame.length : frame.header.length + frame.body.length;
}

function badRequest(message: string, details: RpcErrorDetails, field: string): RpcError {
  return new RpcError('bad_request', message, {
    details: { ...details, field },
    notExecuted: true,
  });
}

function notConnected(details: RpcErrorDetails): RpcError {
  return new RpcError('service_unavailable', `node ${details.node} is not connected`, {
    details: { ...details, reason: 'not_connected' },
    notExecuted: true,
  });
}

function unencodable(err: unknown, details: RpcErrorDetails): RpcError {
  return new RpcError('bad_request', `arguments cannot be encoded: ${(err as Error).message}`, {
    details: { ...details, reason: 'unencodable_arguments' },
    cause: err,
    notExecuted: true,
  });
}

function tooLarge(bytes: number, limit: number, details: RpcErrorDetails): RpcError {
  return new RpcError(
    'bad_request',
    `message of ${bytes} bytes exceeds the frame limit of ${limit} bytes`,
    {
      details: { ...details, reason: 'frame_too_large' },
      notExecuted: true,
    },
  );
}

/** Points an asynchronously raised error's stack at the line that made the call. */
function withCallSite(err: RpcError, site: { stack?: string } | undefined): RpcError {
  const callerFrames = site?.stack?.split('\n').slice(1).join('\n');
  if (callerFrames) err.stack = `${err.name}: ${err.message}\n${callerFrames}`;
  return err;
}
