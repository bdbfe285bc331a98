/**
 * The outgoing call object: one per attempt, built by `node.call` (a {@link DirectCall}) or by
 * a load balancer (one per attempt of its call), carried through the client to the wire and
 * back. The client fills in how the attempt ended (`code`, `load`, `trailer`) and hands it back
 * through {@link OutgoingCall.end}; nothing is re-shaped between the layers.
 */
import { RpcError, type RpcErrorCode, type RpcErrorDetails } from '../errors.js';
import { optionNames } from '../option-names.js';
import { describe, MAX_TIMEOUT_MS } from '../options.js';
import { channels, OutgoingTrace, traceSettled, traceStart } from '../tracing.js';
import type { Expiring } from './deadlines.js';
import { type CallMetadata, envelopeProblem } from './envelope.js';
import type { RpcLink } from './link.js';
import type { ServerLoad } from './load.js';

/** Options of a call. */
export interface CallOptions {
  /** Milliseconds to wait for the reply. @default the node's `callTimeoutMs` (10 000) */
  timeout?: number;
  /** Aborts the call: it rejects with the signal's reason and the callee's handler sees its signal abort. */
  signal?: AbortSignal;
  /**
   * Metadata sent with the call, read by the handler as `currentCall().meta`: a plain object
   * with string keys and values the codec encodes; at most 64 keys and 16 KiB encoded, else the
   * call fails with `bad_request`. `traceparent`/`tracestate` are reserved for W3C trace
   * context. Not sent to nodes that speak protocol 1 (the first release).
   */
  meta?: CallMetadata;
  /**
   * Called with the trailer the handler set (`currentCall().setTrailer`), before the call
   * settles, when the reply carries one (success or error).
   */
  onTrailer?: (trailer: CallMetadata) => void;
}

/**
 * The option names {@link checkCallOptions} knows. Typed against `CallOptions`: a field added
 * there and not here fails the build. `node.call` refuses any other name.
 */
export const CALL_OPTION_NAMES = optionNames({
  timeout: true,
  signal: true,
  meta: true,
  onTrailer: true,
} satisfies Record<keyof CallOptions, true>);

/** Call options after validation. */
export interface ResolvedCallOptions {
  readonly timeout: number;
  readonly signal: AbortSignal | undefined;
  readonly meta: CallMetadata | undefined;
  readonly onTrailer: ((trailer: CallMetadata) => void) | undefined;
}

/**
 * Validates the options of a call (not its target or names): an `RpcError` `bad_request`
 * naming the field, or the options with defaults.
 */
export function checkCallOptions(
  options: CallOptions | undefined,
  defaultTimeout: number,
  details: RpcErrorDetails,
): RpcError | ResolvedCallOptions {
  if (options === undefined) {
    return { timeout: defaultTimeout, signal: undefined, meta: undefined, onTrailer: undefined };
  }
  if (typeof options !== 'object' || options === null) {
    return badOption(
      `options must be an object, received ${describe(options)}`,
      details,
      'options',
    );
  }
  const timeout = options.timeout ?? defaultTimeout;
  if (typeof timeout !== 'number' || !(timeout > 0) || timeout > MAX_TIMEOUT_MS) {
    return badOption(
      `timeout must be a number of ms from 1 to ${MAX_TIMEOUT_MS}, received ${describe(timeout)}`,
      details,
      'timeout',
    );
  }
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    return badOption(
      `signal must be an AbortSignal, received ${describe(signal)}`,
      details,
      'signal',
    );
  }
  const meta = options.meta;
  if (meta !== undefined) {
    const problem = envelopeProblem(meta, 'meta');
    if (problem !== undefined) return badOption(problem, details, 'meta', 'bad_meta');
  }
  const onTrailer = options.onTrailer;
  if (onTrailer !== undefined && typeof onTrailer !== 'function') {
    return badOption(
      `onTrailer must be a function, received ${describe(onTrailer)}`,
      details,
      'onTrailer',
    );
  }
  return { timeout: Math.ceil(timeout), signal, meta, onTrailer };
}

function badOption(
  message: string,
  details: RpcErrorDetails,
  field: string,
  reason?: string,
): RpcError {
  return new RpcError('bad_request', message, {
    details: reason === undefined ? { ...details, field } : { ...details, field, reason },
    notExecuted: true,
  });
}

/**
 * One attempt of a call, as the client tracks it. Built by whoever starts the call (a subclass
 * says what happens when it ends); the client fills in `id`, `link`, `deadline` and, when it
 * ends, `code` and `load`, then calls {@link OutgoingCall.end} exactly once.
 */
export abstract class OutgoingCall implements Expiring {
  /** Request id on its connection (0 until sent). */
  id = 0;
  /** The connection it was sent on (`null` for a local call or before sending). */
  link: RpcLink | null = null;
  /** `performance.now()` time at which it times out (set by the client's deadline queue). */
  deadline = 0;
  /** `true` once it ended (or before it started). */
  settled = true;
  /** The caller's stack, when call sites are captured. */
  site: { stack?: string } | undefined;
  /** Set by the client to abort this attempt when its signal fires. */
  onAbort: (() => void) | undefined;
  /** The error code it failed with, if it failed with an `RpcError`. */
  code: RpcErrorCode | undefined;
  /** The load the target reported with its reply, when the reply carried it. */
  load: ServerLoad | undefined;

  constructor(
    /** The target node. */
    readonly target: string,
    readonly module: string,
    readonly fn: string,
    readonly args: unknown[],
    /** This attempt's timeout in ms (what is left of it, after waiting for a connection). */
    public timeoutMs: number,
    readonly signal: AbortSignal | undefined,
    readonly meta: CallMetadata | undefined,
    readonly onTrailer: ((trailer: CallMetadata) => void) | undefined,
  ) {}

  /** The attempt ended: `ok` with the decoded result, or not with the error (an `RpcError`, or an abort's reason). */
  abstract end(ok: boolean, value: unknown): void;

  /** Built only when an error needs it: most calls never fail. */
  get details(): RpcErrorDetails {
    return { node: this.target, module: this.module, function: this.fn };
  }
}

/** A call made with `node.call`: one attempt, settling the promise the caller holds. */
export class DirectCall extends OutgoingCall {
  readonly promise: Promise<unknown>;
  #resolve: (value: unknown) => void = noop;
  #reject: (err: unknown) => void = noop;

  constructor(
    target: string,
    module: string,
    fn: string,
    args: unknown[],
    options: ResolvedCallOptions,
  ) {
    super(
      target,
      module,
      fn,
      args,
      options.timeout,
      options.signal,
      options.meta,
      options.onTrailer,
    );
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  end(ok: boolean, value: unknown): void {
    if (ok) this.#resolve(value);
    else this.#reject(value);
  }
}

/** @internal A `node.call` while the `rpc-load-balancer:call` channel has subscribers: settles its trace as it ends. */
export class TracedDirectCall extends DirectCall {
  constructor(
    target: string,
    module: string,
    fn: string,
    args: unknown[],
    options: ResolvedCallOptions,
    readonly trace: OutgoingTrace,
  ) {
    super(target, module, fn, args, options);
  }

  override end(ok: boolean, value: unknown): void {
    if (!ok && value instanceof RpcError) this.trace.code = value.code;
    traceSettled(channels.call, this.trace, ok, value);
    super.end(ok, value);
  }
}

/**
 * @internal A `node.call` traced on `rpc-load-balancer:call` (made only while someone
 * subscribes): its trace starts here, and the metadata it sends carries the trace context.
 */
export function tracedDirectCall(
  selfName: string,
  target: string,
  module: string,
  fn: string,
  args: unknown[],
  opts: ResolvedCallOptions,
): TracedDirectCall {
  const trace = new OutgoingTrace(selfName, undefined, target, module, fn, opts.meta);
  trace.attempts = 1;
  traceStart(channels.call, trace);
  const meta = trace.outgoingMeta;
  const options = meta === opts.meta ? opts : { ...opts, meta };
  return new TracedDirectCall(target, module, fn, args, options, trace);
}

function noop(): void {}
