/**
 * Serving calls: the table of exposed functions, dispatch of CALL/CAST frames (and of local
 * calls), cancellation, and the in-flight count that graceful shutdown waits on.
 *
 * Only functions passed to `expose` are reachable, looked up in a `Map` built at expose time:
 * no property of any object is ever resolved by a name that came from the network.
 */
import { RpcError, type RpcErrorDetails, toWireError } from '../errors.js';
import type { Logger } from '../logger.js';
import { describe } from '../options.js';
import type { Connection } from '../transport/connection.js';
import { MessageType } from '../transport/message-types.js';
import { decodeValue, decodeValueAt, encodeValue } from './codec.js';
import { CallRecord, callStorage } from './context.js';
import {
  decodeRequest,
  encodeReplyValue,
  frameId,
  MAX_NAME_BYTES,
  NamesTable,
  type OutgoingFrame,
} from './wire.js';

/**
 * An exposed function: receives the call's arguments, may be sync or async. Typed loosely on
 * purpose (`never[]`) so handlers with any parameter types can be exposed.
 */
export type Handler = (...args: never[]) => unknown;
/** A module: function name → handler. */
export type HandlerTable = Record<string, Handler>;

type AnyHandler = (...args: unknown[]) => unknown;

/** What the server needs from the node. */
export interface ServerHost {
  readonly selfName: string;
  readonly logger: Logger;
  readonly exposeErrorStacks: boolean;
  send(conn: Connection, frame: OutgoingFrame): void;
}

/** How a local call reports back (the client's pending entry). */
export interface LocalReply {
  resolve(value: unknown): void;
  reject(err: RpcError): void;
}

export class RpcServer {
  readonly #host: ServerHost;
  readonly #modules = new Map<string, Map<string, AnyHandler>>();
  readonly #active = new Map<Connection, Map<number, CallRecord>>();
  readonly #names = new NamesTable();
  #inFlight = 0;
  #draining = false;
  #idleWaiters: (() => void)[] = [];

  constructor(host: ServerHost) {
    this.#host = host;
  }

  /** Calls being served right now (remote and local). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Exposes (or replaces) `module`. Throws a `TypeError` for bad names or non-function values. */
  expose(module: string, functions: HandlerTable): void {
    checkName('module', module);
    if (typeof functions !== 'object' || functions === null) {
      throw new TypeError(
        `expose("${module}", functions): functions must be an object, received ${describe(functions)}`,
      );
    }
    const table = new Map<string, AnyHandler>();
    for (const [name, fn] of Object.entries(functions)) {
      checkName('function', name);
      if (typeof fn !== 'function') {
        throw new TypeError(
          `expose("${module}"): "${name}" must be a function, received ${describe(fn)}`,
        );
      }
      table.set(name, fn as AnyHandler);
    }
    this.#modules.set(module, table);
  }

  /** Removes `module`; later calls to it fail with `not_found`. */
  unexpose(module: string): boolean {
    return this.#modules.delete(module);
  }

  /** Refuses new calls from now on (they fail with `service_unavailable`, marked not executed). */
  startDraining(): void {
    this.#draining = true;
  }

  /** Resolves `true` once no call is in flight, or `false` after `timeoutMs`. */
  waitIdle(timeoutMs: number): Promise<boolean> {
    if (this.#inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#idleWaiters = this.#idleWaiters.filter((w) => w !== wake);
        resolve(false);
      }, timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#idleWaiters.push(wake);
    });
  }

  /** Handles a CALL or CAST frame from `conn`. Returns `false` for a malformed frame. */
  onRequest(conn: Connection, frame: Buffer): boolean {
    const req = decodeRequest(frame, this.#names);
    if (!req) {
      this.#host.logger.warn(
        `malformed ${frame[0] === MessageType.Call ? 'CALL' : 'CAST'} frame from ${conn.peerName}; closing the connection`,
      );
      return false;
    }
    const caller = conn.peerName as string;
    const handler = this.#lookup(req.module, req.fn);
    if (handler instanceof RpcError) return this.#replyError(conn, req.id, handler);
    let args: unknown;
    try {
      args = decodeValueAt(frame, req.argsOffset);
    } catch {
      return this.#replyError(
        conn,
        req.id,
        new RpcError('bad_request', 'arguments could not be decoded', {
          details: this.#nameDetails(req.module, req.fn),
          notExecuted: true,
        }),
      );
    }
    if (!Array.isArray(args)) {
      return this.#replyError(
        conn,
        req.id,
        new RpcError('bad_request', 'arguments must be an array', {
          details: this.#nameDetails(req.module, req.fn),
          notExecuted: true,
        }),
      );
    }
    const deadline = req.id === 0 ? Number.POSITIVE_INFINITY : Date.now() + req.timeoutMs;
    const record = new CallRecord(caller, req.module, req.fn, deadline);
    if (req.id === 0) {
      this.#run(record, handler, args, undefined, (err) =>
        this.#host.logger.debug(
          `cast ${req.module}.${req.fn} from ${caller} failed: ${err.message}`,
        ),
      );
      return true;
    }
    const id = req.id;
    const outcome = this.#start(record, handler, args);
    // Settled synchronously (the usual case for a quick handler): reply now. No CANCEL can
    // arrive while a handler runs synchronously, so such a call is never tracked as active.
    if (outcome instanceof HandlerFailure) {
      this.#finish(record);
      this.#replyError(conn, id, outcome.error);
      return true;
    }
    if (!isThenable(outcome)) {
      this.#finish(record);
      this.#replyOk(conn, id, outcome, record);
      return true;
    }
    let active = this.#active.get(conn);
    if (!active) this.#active.set(conn, (active = new Map()));
    active.set(id, record);
    this.#settleLater(
      outcome,
      record,
      (value) => {
        if (active.get(id) === record) active.delete(id);
        this.#replyOk(conn, id, value, record);
      },
      (err) => {
        if (active.get(id) === record) active.delete(id);
        // Aborted (cancelled, caller gone, deadline passed): the caller is not waiting for this
        // error, or is timing out by itself right now with its own, more precise error.
        if (!record.aborted) this.#replyError(conn, id, err);
      },
    );
    return true;
  }

  /** A local call (target is this node): same semantics as a remote one, no socket. */
  invokeLocal(
    module: string,
    fn: string,
    args: unknown[],
    record: CallRecord,
    reply: LocalReply,
  ): void {
    const details: RpcErrorDetails = { node: this.#host.selfName, module, function: fn };
    const handler = this.#lookup(module, fn);
    if (handler instanceof RpcError) return reply.reject(handler);
    this.#run(
      record,
      handler,
      args,
      (value) => {
        try {
          reply.resolve(decodeValue(encodeValue(value)));
        } catch (err) {
          reply.reject(resultError(err, details));
        }
      },
      (err) => {
        if (!record.aborted) reply.reject(err);
      },
    );
  }

  /** The caller gave up on request `id`: abort its handler's signal. */
  onCancel(conn: Connection, frame: Buffer): void {
    const record = this.#active.get(conn)?.get(frameId(frame));
    record?.abort(
      new RpcError('request_timeout', 'the caller cancelled the call', {
        details: { node: record.caller },
      }),
    );
  }

  /** The connection to a caller dropped: abort every handler it was waiting on. */
  onConnectionClosed(conn: Connection): void {
    const active = this.#active.get(conn);
    if (!active) return;
    this.#active.delete(conn);
    const reason = new RpcError('service_unavailable', 'the caller disconnected', {
      details: { reason: 'connection_lost' },
    });
    for (const record of active.values()) record.abort(reason);
  }

  #lookup(module: string, fn: string): AnyHandler | RpcError {
    if (this.#draining) {
      return new RpcError('service_unavailable', `node ${this.#host.selfName} is shutting down`, {
        details: { ...this.#nameDetails(module, fn), reason: 'draining' },
        notExecuted: true,
      });
    }
    const table = this.#modules.get(module);
    const handler = table?.get(fn);
    if (handler) return handler;
    const what = table ? `function ${module}.${fn}` : `module ${module}`;
    return new RpcError('not_found', `no ${what} is exposed on node ${this.#host.selfName}`, {
      details: this.#nameDetails(module, fn),
      notExecuted: true,
    });
  }

  /** Runs a handler inside its call context; settles through `ok` / `fail` exactly once. */
  #run(
    record: CallRecord,
    handler: AnyHandler,
    args: unknown[],
    ok: ((value: unknown) => void) | undefined,
    fail: (err: RpcError) => void,
  ): void {
    const outcome = this.#start(record, handler, args);
    if (outcome instanceof HandlerFailure) {
      this.#finish(record);
      fail(outcome.error);
    } else if (isThenable(outcome)) {
      this.#settleLater(outcome, record, ok, fail);
    } else {
      this.#finish(record);
      ok?.(outcome);
    }
  }

  /**
   * Starts a handler inside its call context and counts it in flight. Returns its result: a
   * value, a thenable still running, or a {@link HandlerFailure} when it threw synchronously.
   * Whoever gets a settled outcome calls {@link #finish}; {@link #settleLater} does for a thenable.
   */
  #start(record: CallRecord, handler: AnyHandler, args: unknown[]): unknown {
    this.#inFlight++;
    try {
      return callStorage.run(record, Reflect.apply, handler, undefined, args) as unknown;
    } catch (err) {
      return new HandlerFailure(this.#handlerError(err, record));
    }
  }

  #settleLater(
    pending: PromiseLike<unknown>,
    record: CallRecord,
    ok: ((value: unknown) => void) | undefined,
    fail: (err: RpcError) => void,
  ): void {
    pending.then(
      (value) => {
        this.#finish(record);
        ok?.(value);
      },
      (err: unknown) => {
        this.#finish(record);
        fail(this.#handlerError(err, record));
      },
    );
  }

  /** A handler finished: its record stops aborting, and idle waiters wake when it was the last. */
  #finish(record: CallRecord): void {
    record.finish();
    if (--this.#inFlight === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  #handlerError(err: unknown, record: CallRecord): RpcError {
    const details: RpcErrorDetails = {
      node: this.#host.selfName,
      module: record.module,
      function: record.fn,
    };
    if (err instanceof RpcError)
      return new RpcError(err.code, err.message, { details: { ...err.details, ...details } });
    const e = err instanceof Error ? err : new Error(String(err));
    const remote: RpcErrorDetails['remote'] = { name: e.name, message: e.message };
    if (this.#host.exposeErrorStacks && e.stack) remote.stack = e.stack;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') remote.code = code;
    return new RpcError(
      'internal_server_error',
      `${record.module}.${record.fn} threw: ${e.name}: ${e.message}`,
      {
        details: { ...details, remote },
      },
    );
  }

  #nameDetails(module: string, fn: string): RpcErrorDetails {
    return { node: this.#host.selfName, module, function: fn };
  }

  #details(record: CallRecord): RpcErrorDetails {
    return { node: this.#host.selfName, module: record.module, function: record.fn };
  }

  #replyOk(conn: Connection, id: number, value: unknown, record: CallRecord): void {
    let frame: Buffer;
    try {
      frame = encodeReplyValue(MessageType.ReplyOk, id, value);
    } catch (err) {
      this.#replyError(conn, id, resultError(err, this.#details(record)));
      return;
    }
    if (frame.length - 4 > conn.sendLimit) {
      this.#replyError(
        conn,
        id,
        new RpcError(
          'internal_server_error',
          `result of ${frame.length - 9} bytes exceeds the frame limit`,
          {
            details: { ...this.#details(record), reason: 'frame_too_large' },
          },
        ),
      );
      return;
    }
    this.#host.send(conn, frame);
  }

  #replyError(conn: Connection, id: number, err: RpcError): true {
    if (id !== 0)
      this.#host.send(conn, encodeReplyValue(MessageType.ReplyError, id, toWireError(err)));
    return true;
  }
}

/** What a handler threw synchronously, already turned into the error its caller gets. */
class HandlerFailure {
  constructor(readonly error: RpcError) {}
}

function resultError(err: unknown, details: RpcErrorDetails): RpcError {
  return new RpcError(
    'internal_server_error',
    `the result cannot be encoded: ${(err as Error).message}`,
    {
      details: { ...details, reason: 'unencodable_result' },
    },
  );
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function checkName(what: string, name: unknown): void {
  if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > MAX_NAME_BYTES) {
    throw new TypeError(
      `${what} name must be a non-empty string of at most ${MAX_NAME_BYTES} bytes, received ${describe(name)}`,
    );
  }
}
