/**
 * Serving calls: the table of exposed functions, dispatch of CALL/CAST frames (and of local
 * calls), cancellation, load reports and probes, and the in-flight count that graceful
 * shutdown waits on.
 *
 * Only functions passed to `expose` are reachable, looked up in a `Map` built at expose time
 * (handler-table.ts): no property of any object is ever resolved by a name that came from the
 * network.
 *
 * Every call, remote or local, call or cast, takes one path: {@link RpcServer.serve} finds the
 * handler, runs it inside its context, and a `ReplySender` (replies.ts) sends what came out.
 */
import { RpcError, type RpcErrorDetails } from '../errors.js';
import type { Logger } from '../logger.js';
import { channels, type ServeTrace, traced } from '../tracing.js';
import { MessageType } from '../transport/message-types.js';
import { callStorage, IncomingCall } from './context.js';
import { type CallMetadata, envelopeProblem, NO_METADATA } from './envelope.js';
import { type AnyHandler, checkName, handlerTable } from './handler-table.js';
import type { RpcLink } from './link.js';
import { LoadSampler } from './load.js';
import { NamesTable } from './names.js';
import { handlerError } from './remote-error.js';
import { ReplySender } from './replies.js';
import { baseType, decodeRequest, encodeProbeReply, frameId, type WireLoad } from './wire.js';

/**
 * An exposed function: receives the call's arguments, may be sync or async. Typed loosely on
 * purpose (`never[]`) so handlers with any parameter types can be exposed.
 */
export type Handler = (...args: never[]) => unknown;
/** A module: function name → handler. */
export type HandlerTable = Record<string, Handler>;

/** Module names starting with this are reserved for the library's system modules (`$rpclb`). */
export const SYSTEM_MODULE_PREFIX = '$';

/** What the server needs from the node. */
export interface ServerHost {
  readonly selfName: string;
  readonly logger: Logger;
  readonly exposeErrorStacks: boolean;
}

export { IncomingCall, type LocalReply } from './context.js';

export class RpcServer {
  readonly #host: ServerHost;
  readonly #modules = new Map<string, Map<string, AnyHandler>>();
  readonly #names = new NamesTable();
  readonly #sampler = new LoadSampler();
  readonly #replies: ReplySender;
  #inFlight = 0;
  #draining = false;
  #idleWaiters: (() => void)[] = [];

  constructor(host: ServerHost) {
    this.#host = host;
    this.#replies = new ReplySender(host, (link) => this.#loadFor(link));
  }

  /** Calls being served right now (remote and local). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** This node's load as peers are told it. */
  get load(): WireLoad {
    return { inFlight: this.#inFlight, elu: this.#sampler.elu };
  }

  /** This node's load for a reply on `link`, when `link` has not been told it since the last sample. */
  #loadFor(link: RpcLink): WireLoad | undefined {
    if (link.loadEpoch === this.#sampler.epoch) return undefined;
    link.loadEpoch = this.#sampler.epoch;
    return this.load;
  }

  /** Starts sampling the event loop (for load reports). */
  startLoadSampling(intervalMs?: number): void {
    this.#sampler.start(intervalMs);
  }

  /** Stops the sampler (the node is closing). */
  stopLoadSampling(): void {
    this.#sampler.stop();
  }

  /**
   * Exposes (or replaces) `module`; functions with a schema in `schemas` check their arguments
   * first. Throws a `TypeError` for bad names, non-function values or bad schemas.
   */
  expose(module: string, functions: HandlerTable, schemas?: Record<string, unknown>): void {
    checkName('module', module);
    if (module.startsWith(SYSTEM_MODULE_PREFIX)) {
      throw new TypeError(
        `expose("${module}"): module names starting with "${SYSTEM_MODULE_PREFIX}" are reserved for the library's system modules`,
      );
    }
    this.#modules.set(module, handlerTable(module, functions, schemas));
  }

  /** @internal Exposes a system module (a reserved `$` name), which `expose` refuses and `unexpose` keeps. */
  exposeSystem(module: string, functions: HandlerTable): void {
    this.#modules.set(module, handlerTable(module, functions));
  }

  /** Removes `module`; later calls to it fail with `not_found`. System modules stay. */
  unexpose(module: string): boolean {
    if (typeof module === 'string' && module.startsWith(SYSTEM_MODULE_PREFIX)) return false;
    return this.#modules.delete(module);
  }

  /**
   * Refuses new calls from now on (they fail with `service_unavailable`, marked not executed).
   * Casts still run: nobody could be told they were refused, so refusing would lose them.
   */
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

  /**
   * Handles a CALL or CAST frame from `link`. Returns `false` when the connection must be
   * closed: a malformed frame, or (on protocol 2) a body that does not decode, which leaves
   * the connection's codec out of step with the sender's.
   */
  onRequest(link: RpcLink, frame: Buffer): boolean {
    const req = decodeRequest(frame, this.#names);
    if (!req) {
      const kind = baseType(frame[0] as number) === MessageType.Call ? 'CALL' : 'CAST';
      this.#host.logger.warn(`malformed ${kind} frame from ${link.peer}; closing the connection`);
      return false;
    }
    const call = new IncomingCall(
      link.peer,
      req.module,
      req.fn,
      req.id === 0 ? Number.POSITIVE_INFINITY : Date.now() + req.timeoutMs,
      NO_METADATA,
    );
    call.link = link;
    call.id = req.id;
    // Every part is decoded, in order, even for a call that is refused: a protocol-2 codec
    // learns object shapes from each message it reads.
    let meta: unknown = NO_METADATA;
    let args: unknown;
    try {
      if (req.envelopeEnd > 0) meta = link.codec.decode(frame, req.envelopeStart, req.envelopeEnd);
      args = link.codec.decode(frame, req.argsOffset, frame.length);
    } catch {
      if (link.codec.ordered) {
        this.#host.logger.warn(`undecodable request from ${link.peer}; closing the connection`);
        return false;
      }
      this.#replies.end(
        call,
        false,
        this.#badRequest(call, 'arguments could not be decoded', 'undecodable_arguments'),
      );
      return true;
    }
    if (meta !== NO_METADATA) {
      const problem = envelopeProblem(meta, 'meta');
      if (problem !== undefined) {
        this.#replies.end(call, false, this.#badRequest(call, problem, 'bad_meta'));
        return true;
      }
      (call as { meta: CallMetadata }).meta = Object.freeze(meta as Record<string, unknown>);
    }
    if (!Array.isArray(args)) {
      this.#replies.end(
        call,
        false,
        this.#badRequest(call, 'arguments must be an array', 'bad_arguments'),
      );
      return true;
    }
    this.serve(call, args);
    return true;
  }

  /** A PROBE from `link`: answered at once with this node's load, no handler involved. */
  onProbe(link: RpcLink, frame: Buffer): void {
    link.send(encodeProbeReply(frameId(frame), this.load));
  }

  /**
   * Serves `call`: finds its handler, runs it inside its context, and replies with what came
   * out (a synchronous result at once, with no closure and no entry in the active table).
   */
  serve(call: IncomingCall, args: unknown[]): void {
    if (traced(channels.serve)) call.trace = this.#newTrace(call);
    const handler = this.#lookup(call);
    if (handler instanceof RpcError) {
      if (call.trace !== undefined) channels.serve.start.publish(call.trace);
      return this.#replies.end(call, false, handler);
    }
    this.#inFlight++;
    let result: unknown;
    let ok = true;
    try {
      result =
        call.trace === undefined
          ? callStorage.run(call, Reflect.apply, handler, undefined, args)
          : // stores bound to the start channel (a tracer's active span) hold for the handler
            channels.serve.start.runStores(call.trace, runHandler, undefined, call, handler, args);
    } catch (err) {
      ok = false;
      result = err;
    }
    if (call.trace !== undefined) channels.serve.end.publish(call.trace);
    if (!ok || !isThenable(result)) return this.#finish(call, ok, result);
    // No CANCEL can arrive while a handler runs synchronously: only a pending one is tracked.
    if (call.id !== 0 && call.link !== null) call.link.active.set(call.id, call);
    result.then(
      (value) => this.#finish(call, true, value),
      (err: unknown) => this.#finish(call, false, err),
    );
  }

  /** A serve trace; its `start` is published when the handler runs (`runStores`), or when it is refused. */
  #newTrace(call: IncomingCall): ServeTrace {
    return {
      node: this.#host.selfName,
      caller: call.caller,
      module: call.module,
      function: call.fn,
      meta: call.meta,
      isCast: call.isCast,
    };
  }

  /** The caller gave up on request `id`: abort its handler's signal. */
  onCancel(link: RpcLink, frame: Buffer): void {
    const call = link.active.get(frameId(frame));
    call?.abort(
      new RpcError('request_timeout', 'the caller cancelled the call', {
        details: { node: call.caller },
      }),
    );
  }

  /** The connection to a caller dropped: abort every handler it was waiting on. */
  onConnectionClosed(link: RpcLink): void {
    if (link.active.size === 0) return;
    const reason = new RpcError('service_unavailable', 'the caller disconnected', {
      details: { reason: 'connection_lost' },
    });
    const calls = [...link.active.values()];
    link.active.clear();
    for (const call of calls) call.abort(reason);
  }

  #lookup(call: IncomingCall): AnyHandler | RpcError {
    if (this.#draining && !call.isCast) {
      return new RpcError('service_unavailable', `node ${this.#host.selfName} is shutting down`, {
        details: { ...this.#details(call), reason: 'draining' },
        notExecuted: true,
      });
    }
    // A cast is still served: nothing waits for its reply.
    if (call.link?.closingIdle === true && !call.isCast) return this.#closingIdle(call);
    const table = this.#modules.get(call.module);
    const handler = table?.get(call.fn);
    if (handler) return handler;
    const what = table ? `function ${call.module}.${call.fn}` : `module ${call.module}`;
    return new RpcError('not_found', `no ${what} is exposed on node ${this.#host.selfName}`, {
      details: this.#details(call),
      notExecuted: true,
    });
  }

  /** A call that reached this node on a connection it is closing for idleness. */
  #closingIdle(call: IncomingCall): RpcError {
    return new RpcError(
      'service_unavailable',
      `node ${this.#host.selfName} is closing its idle connection to ${call.caller}; call again`,
      { details: { ...this.#details(call), reason: 'connection_idle' }, notExecuted: true },
    );
  }

  /** A handler finished: settle the bookkeeping, then reply. */
  #finish(call: IncomingCall, ok: boolean, value: unknown): void {
    call.finish();
    if (call.link !== null && call.link.active.get(call.id) === call)
      call.link.active.delete(call.id);
    if (--this.#inFlight === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const wake of waiters) wake();
    }
    if (ok) return this.#replies.end(call, true, value);
    const err = handlerError(value, call, this.#host);
    // Aborted (cancelled, caller gone, deadline passed): the caller is not waiting for this
    // error, or is timing out by itself right now with its own, more precise error.
    if (!call.aborted) this.#replies.end(call, false, err);
  }

  #badRequest(call: IncomingCall, message: string, reason: string): RpcError {
    return new RpcError('bad_request', message, {
      details: { ...this.#details(call), reason },
      notExecuted: true,
    });
  }

  #details(call: IncomingCall): RpcErrorDetails {
    return { node: this.#host.selfName, module: call.module, function: call.fn };
  }
}

/** Runs a handler inside its call context (what `serve` does, as one function for `runStores`). */
function runHandler(call: IncomingCall, handler: AnyHandler, args: unknown[]): unknown {
  return callStorage.run(call, Reflect.apply, handler, undefined, args);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
