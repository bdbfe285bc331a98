/**
 * Per-call tracing through `node:diagnostics_channel`, for APM tools and the observability
 * integrations (`rpc-load-balancer/otel`, `rpc-load-balancer/metrics`). Channels are named by
 * the ecosystem convention `rpc-load-balancer:<operation>`. Nothing is built or published while
 * a channel has no subscriber: each call site checks `hasSubscribers` once.
 *
 * Tracing channels (`diagnostics_channel.tracingChannel(name)`) publish `start` when the
 * operation starts, `error` if it fails, and `asyncEnd` when it settled (`end`, right after
 * `start`, marks the synchronous part), all with the same context object; subscribers may add
 * their own fields to it (a span, a start time).
 *
 * ```ts
 * import { tracingChannel } from 'node:diagnostics_channel';
 * tracingChannel('rpc-load-balancer:call').subscribe({
 *   start(ctx) { ctx.startedAt = performance.now(); },
 *   asyncEnd(ctx) { console.log(ctx.module, ctx.function, performance.now() - ctx.startedAt); },
 *   error(ctx) { console.log('failed', ctx.error); },
 * });
 * ```
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { ServerLoad } from './algorithms/types.js';
import type { RpcErrorCode } from './errors.js';

/** The channel names, part of the public API. */
export const TRACING_CHANNELS = Object.freeze({
  /** Tracing channel: an outgoing `node.call` or `lb.call` (one for all of a balanced call's attempts): {@link CallTrace}. */
  call: 'rpc-load-balancer:call',
  /** Tracing channel: one attempt of an `lb.call` (a retried call has several): {@link AttemptTrace}. */
  attempt: 'rpc-load-balancer:attempt',
  /** Tracing channel: an outgoing `node.cast` or `lb.cast`: {@link CastTrace}. */
  cast: 'rpc-load-balancer:cast',
  /** Tracing channel: serving a call or cast (server side): {@link ServeTrace}. */
  serve: 'rpc-load-balancer:serve',
  /** Plain channel: a balancer selected a member: {@link SelectionMessage}. */
  select: 'rpc-load-balancer:select',
  /** Plain channel: a balancer could not select (no member, stopped, the algorithm failed): {@link EmptySelectionMessage}. */
  selectEmpty: 'rpc-load-balancer:select:empty',
  /** Plain channel: outlier detection ejected a member, or let it back: {@link OutlierMessage}. */
  outlier: 'rpc-load-balancer:outlier',
  /** Plain channel: a failed attempt of an `lb.call` could be retried; whether the retry budget allowed it: {@link RetryMessage}. */
  retry: 'rpc-load-balancer:retry',
  /** Plain channel: a load probe sent before a pick came back or gave up: {@link ProbeMessage}. */
  probe: 'rpc-load-balancer:probe',
});

/** Fields every traced operation's context has. */
interface TraceBase {
  /** The node doing it (this node's name). */
  readonly node: string;
  readonly module: string;
  readonly function: string;
  /** Set when it failed: the `RpcError` (or an abort's reason). */
  error?: unknown;
  /** Set when it succeeded: the result. */
  result?: unknown;
}

/** The context of a `rpc-load-balancer:call` trace. */
export interface CallTrace extends TraceBase {
  /** The balancer that routes it, for `lb.call`. */
  readonly balancer: string | undefined;
  /** The target node: the one called directly, or the last one a balanced call tried. */
  target: string | undefined;
  /**
   * The metadata sent with the call: a copy of the caller's `meta`, which a `start` subscriber
   * may add to (e.g. `traceparent`), before anything is sent.
   */
  readonly meta: Record<string, unknown>;
  /** Attempts made (a balanced call retries refused calls on other members). */
  attempts: number;
  /** When it failed with an `RpcError`: its code. */
  code?: RpcErrorCode;
}

/** The context of a `rpc-load-balancer:attempt` trace (one attempt of a balanced call). */
export interface AttemptTrace {
  /** The call this attempt belongs to (its trace, when `rpc-load-balancer:call` has subscribers too). */
  readonly call: CallTrace | undefined;
  /** The node making it. */
  readonly node: string;
  readonly balancer: string;
  readonly module: string;
  readonly function: string;
  /** 1 for the first attempt, 2 for the first retry, ... */
  readonly attempt: number;
  /** The member this attempt went to. */
  readonly target: string;
  /** Set when it failed. */
  error?: unknown;
  /** When it failed with an `RpcError`: its code. */
  code?: RpcErrorCode;
  /** The load the target reported with its reply, when the reply carried it. */
  load?: ServerLoad;
  /** Wall time of the attempt, ms (set when it ended). */
  latencyMs?: number;
  result?: unknown;
}

/** The context of a `rpc-load-balancer:cast` trace. */
export interface CastTrace extends TraceBase {
  readonly balancer: string | undefined;
  target: string | undefined;
  /** As for {@link CallTrace.meta}. */
  readonly meta: Record<string, unknown>;
  code?: RpcErrorCode;
}

/** The context of a `rpc-load-balancer:serve` trace (this node serving a call or cast). */
export interface ServeTrace extends TraceBase {
  /** The calling node (this node's own name for a local call). */
  readonly caller: string;
  /** The metadata the caller sent (read it for `traceparent`). */
  readonly meta: Readonly<Record<string, unknown>>;
  /** `true` for a cast. */
  readonly isCast: boolean;
  code?: RpcErrorCode;
}

/** Published on `rpc-load-balancer:select`. */
export interface SelectionMessage {
  readonly node: string;
  readonly balancer: string;
  /** The algorithm's class name. */
  readonly algorithm: string;
  /** The member chosen. */
  readonly selected: string;
  /** How many members there were to choose from. */
  readonly members: number;
}

/** Published on `rpc-load-balancer:select:empty`. */
export interface EmptySelectionMessage {
  readonly node: string;
  readonly balancer: string;
  readonly algorithm: string;
  /** Why: `no_members`, `balancer_stopped`, `selection_failed`, `algorithm_error`. */
  readonly reason: string;
}

/** Published on `rpc-load-balancer:outlier`. */
export interface OutlierMessage {
  /** The node whose balancer saw it. */
  readonly node: string;
  readonly balancer: string;
  /** `eject`: left out of the members the algorithm chooses from; `return`: back in. */
  readonly type: 'eject' | 'return';
  /** The member ejected or back. */
  readonly member: string;
  /** For an ejection: `consecutive_failures`, `failure_percentage` or `success_rate`. */
  readonly reason?: string;
  /** For an ejection: how long it lasts, ms. */
  readonly durationMs?: number;
  /** For an ejection: how many times the member was ejected (the base time is multiplied by it). */
  readonly timesEjected?: number;
}

/** Published on `rpc-load-balancer:retry`. */
export interface RetryMessage {
  readonly node: string;
  readonly balancer: string;
  readonly module: string;
  readonly function: string;
  /** The attempt that failed (1 for the first). */
  readonly attempt: number;
  /** The member it failed on. */
  readonly target: string;
  readonly code: RpcErrorCode;
  /** `false` when the retry budget was spent: the call fails with this attempt's error. */
  readonly allowed: boolean;
}

/** Published on `rpc-load-balancer:probe`. */
export interface ProbeMessage {
  readonly node: string;
  readonly balancer: string;
  /** The member probed. */
  readonly target: string;
  /** `false` when it did not answer in time (or its connection dropped). */
  readonly ok: boolean;
  /** Round trip, ms (when it answered). */
  readonly rttMs?: number;
  /** What it answered. */
  readonly load?: ServerLoad;
}

/** @internal The channels, as the library publishes on them. */
export const channels = {
  call: diagnosticsChannel.tracingChannel<CallTrace>(TRACING_CHANNELS.call),
  attempt: diagnosticsChannel.tracingChannel<AttemptTrace>(TRACING_CHANNELS.attempt),
  cast: diagnosticsChannel.tracingChannel<CastTrace>(TRACING_CHANNELS.cast),
  serve: diagnosticsChannel.tracingChannel<ServeTrace>(TRACING_CHANNELS.serve),
  select: diagnosticsChannel.channel(TRACING_CHANNELS.select),
  selectEmpty: diagnosticsChannel.channel(TRACING_CHANNELS.selectEmpty),
  outlier: diagnosticsChannel.channel(TRACING_CHANNELS.outlier),
  retry: diagnosticsChannel.channel(TRACING_CHANNELS.retry),
  probe: diagnosticsChannel.channel(TRACING_CHANNELS.probe),
};

/**
 * @internal The context of an outgoing call's or cast's trace. Its `meta` (the metadata the call
 * will carry, which a `start` subscriber may add to) is built only when a subscriber reads it,
 * so tracing that never looks at it costs no copy of the caller's metadata.
 */
export class OutgoingTrace implements CallTrace, CastTrace {
  target: string | undefined;
  attempts = 0;
  code?: RpcErrorCode;
  error?: unknown;
  result?: unknown;
  readonly function: string;
  #meta: Record<string, unknown> | undefined;

  constructor(
    readonly node: string,
    readonly balancer: string | undefined,
    target: string | undefined,
    readonly module: string,
    fn: string,
    /** The caller's own metadata (not copied unless a subscriber reads `meta`). */
    readonly callerMeta: Readonly<Record<string, unknown>> | undefined,
  ) {
    this.target = target;
    this.function = fn;
  }

  get meta(): Record<string, unknown> {
    this.#meta ??= { ...this.callerMeta };
    return this.#meta;
  }

  /** The metadata to send: the caller's, or what subscribers made of it (none when empty). */
  get outgoingMeta(): Readonly<Record<string, unknown>> | undefined {
    const meta = this.#meta;
    if (meta === undefined) return this.callerMeta;
    for (const _ in meta) return meta;
    return undefined;
  }
}

/** @internal `true` when anyone listens to any event of `channel`. */
export function traced(channel: diagnosticsChannel.TracingChannel<object>): boolean {
  return (
    channel.start.hasSubscribers ||
    channel.asyncEnd.hasSubscribers ||
    channel.error.hasSubscribers ||
    channel.end.hasSubscribers ||
    channel.asyncStart.hasSubscribers
  );
}

/** @internal Publishes the start of a traced operation (and its synchronous end). */
export function traceStart<T extends object>(
  channel: diagnosticsChannel.TracingChannel<T>,
  context: T,
): void {
  channel.start.publish(context);
  channel.end.publish(context);
}

/** @internal Publishes how a traced operation settled. */
export function traceSettled<T extends { error?: unknown; result?: unknown }>(
  channel: diagnosticsChannel.TracingChannel<T>,
  context: T,
  ok: boolean,
  value: unknown,
): void {
  if (ok) context.result = value;
  else {
    context.error = value;
    channel.error.publish(context);
  }
  channel.asyncStart.publish(context);
  channel.asyncEnd.publish(context);
}
