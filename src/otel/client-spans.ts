/**
 * Client side: a CLIENT span per call (`node.call`, and `lb.call` with all its attempts), a
 * PRODUCER span per cast, the trace context injected into the call's metadata before anything
 * is sent, each attempt of a balanced call as an `rpclb.attempt` event, a retry the balancer's
 * budget denied as an `rpclb.retry.budget_exhausted` event, and the `rpc.client.call.duration`
 * histogram.
 *
 * Why attempts are events and not child spans: the conventions want one client span covering
 * the logical call with its retries; with the server spans of every attempt as children of that
 * one CLIENT span, backends that pair CLIENT and SERVER spans (service graphs) see each hop; and
 * almost every call has exactly one attempt, for which a second span would double the cost.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import {
  type Attributes,
  context,
  propagation,
  type Span,
  SpanKind,
  trace,
} from '@opentelemetry/api';
import { outcomeStatus } from '../trace-outcome.js';
import {
  type AttemptTrace,
  type CallTrace,
  type CastTrace,
  type RetryMessage,
  TRACING_CHANNELS,
} from '../tracing.js';
import {
  ATTRIBUTES as A,
  ATTEMPT_EVENT,
  applyOutcome,
  finish,
  type Instruments,
  methodName,
  RETRY_DENIED_EVENT,
  RPC_SYSTEM_NAME,
} from './conventions.js';

/**
 * What an instance keeps on a trace context between its start and its end, under symbols of its
 * own (so two instances never read each other's spans).
 */
type Marks = Record<symbol, unknown>;

type Subscription = [diagnosticsChannel.Channel, (message: unknown) => void];

export class ClientSpans {
  readonly #instruments: Instruments;
  readonly #subscriptions: Subscription[];
  readonly #span = Symbol('rpclb.otel.span');
  readonly #started = Symbol('rpclb.otel.started');
  /**
   * The attempt that failed last, until the retry decision about it (published right after its
   * trace settled, in the same turn) or the end of its call.
   */
  #lastFailed: AttemptTrace | undefined;

  constructor(instruments: Instruments) {
    this.#instruments = instruments;
    const call = diagnosticsChannel.tracingChannel(TRACING_CHANNELS.call);
    const attempt = diagnosticsChannel.tracingChannel(TRACING_CHANNELS.attempt);
    const cast = diagnosticsChannel.tracingChannel(TRACING_CHANNELS.cast);
    const on = <T>(channel: diagnosticsChannel.Channel, handler: (ctx: T & Marks) => void) =>
      [channel, handler as (message: unknown) => void] as Subscription;
    this.#subscriptions = [
      on<CallTrace>(call.start, (ctx) => this.#callStarted(ctx)),
      on<CallTrace>(call.asyncEnd, (ctx) => this.#callEnded(ctx)),
      on<CastTrace>(cast.start, (ctx) => this.#castStarted(ctx)),
      on<CastTrace>(cast.asyncEnd, (ctx) => this.#castEnded(ctx)),
    ];
    if (instruments.tracer !== undefined) {
      this.#subscriptions.push(
        on<AttemptTrace>(attempt.asyncEnd, (ctx) => this.#attemptEnded(ctx)),
        on<RetryMessage>(diagnosticsChannel.channel(TRACING_CHANNELS.retry), (m) =>
          this.#retryDecided(m),
        ),
      );
    }
  }

  enable(): void {
    for (const [channel, handler] of this.#subscriptions) channel.subscribe(handler);
  }

  disable(): void {
    for (const [channel, handler] of this.#subscriptions) channel.unsubscribe(handler);
  }

  #callStarted(ctx: CallTrace & Marks): void {
    ctx[this.#started] = performance.now();
    if (this.#instruments.tracer === undefined) return;
    this.#startSpan(ctx, SpanKind.CLIENT, startAttributes(ctx));
  }

  /** Starts the span of a call or cast under the active context and injects it in its metadata. */
  #startSpan(ctx: (CallTrace | CastTrace) & Marks, kind: SpanKind, attributes: Attributes): void {
    const tracer = this.#instruments.tracer;
    if (tracer === undefined) return;
    const method = attributes[A.method] as string;
    const parent = context.active();
    const span = tracer.startSpan(method, { kind, attributes }, parent);
    ctx[this.#span] = span;
    propagation.inject(trace.setSpan(parent, span), ctx.meta);
  }

  #callEnded(ctx: CallTrace & Marks): void {
    if (this.#lastFailed?.call === ctx) this.#lastFailed = undefined;
    const status = outcomeStatus(ctx);
    const attributes: Attributes = {
      [A.systemName]: RPC_SYSTEM_NAME,
      [A.method]: methodName(ctx.module, ctx.function),
      [A.serverAddress]: ctx.balancer ?? ctx.target,
    };
    if (ctx.balancer !== undefined) attributes[A.balancer] = ctx.balancer;
    const failed = applyOutcome(attributes, status, ctx.error, 'client');
    const span = ctx[this.#span] as Span | undefined;
    if (span !== undefined) {
      span.setAttributes(attributes);
      if (ctx.target !== undefined) span.setAttribute(A.target, ctx.target);
      if (ctx.balancer !== undefined) span.setAttribute(A.attempts, ctx.attempts);
      finish(span, status === 'not_found', failed, ctx.error);
    }
    const started = ctx[this.#started] as number | undefined;
    if (started !== undefined) {
      this.#instruments.clientDuration?.record((performance.now() - started) / 1000, attributes);
    }
  }

  #castStarted(ctx: CastTrace & Marks): void {
    if (this.#instruments.tracer === undefined) return;
    const attributes = startAttributes(ctx);
    attributes[A.cast] = true;
    if (ctx.target !== undefined) attributes[A.target] = ctx.target;
    this.#startSpan(ctx, SpanKind.PRODUCER, attributes);
  }

  #castEnded(ctx: CastTrace & Marks): void {
    const span = ctx[this.#span] as Span | undefined;
    if (span === undefined) return;
    const status = outcomeStatus(ctx);
    const attributes: Attributes = { [A.method]: methodName(ctx.module, ctx.function) };
    const failed = applyOutcome(attributes, status, ctx.error, 'client');
    span.setAttributes(attributes);
    finish(span, status === 'not_found', failed, ctx.error);
  }

  /** An attempt of a balanced call ended: an event on its call's span. */
  #attemptEnded(ctx: AttemptTrace): void {
    const span = (ctx.call as (CallTrace & Marks) | undefined)?.[this.#span] as Span | undefined;
    if (span === undefined) return;
    const attributes: Attributes = {
      [A.attempt]: ctx.attempt,
      [A.target]: ctx.target,
      [A.attemptDuration]: (ctx.latencyMs ?? 0) / 1000,
    };
    applyOutcome(attributes, outcomeStatus(ctx), ctx.error, 'client');
    delete attributes[A.methodOriginal];
    delete attributes[A.method];
    if (ctx.load !== undefined) {
      attributes[A.serverInFlight] = ctx.load.inFlight;
      attributes[A.serverElu] = ctx.load.elu;
    }
    span.addEvent(ATTEMPT_EVENT, attributes);
    if (ctx.error !== undefined) this.#lastFailed = ctx;
  }

  /**
   * A failed attempt could be retried: when the budget said no, an event on its call's span.
   * The retry message names no call; it is published in the same turn as the attempt's trace
   * settled, so the attempt that failed last, matched on node, balancer, number and target, is
   * the one it is about.
   */
  #retryDecided(m: RetryMessage): void {
    const attempt = this.#lastFailed;
    this.#lastFailed = undefined;
    if (m.allowed || attempt === undefined) return;
    if (
      attempt.attempt !== m.attempt ||
      attempt.target !== m.target ||
      attempt.balancer !== m.balancer ||
      attempt.node !== m.node
    ) {
      return;
    }
    const span = (attempt.call as (CallTrace & Marks) | undefined)?.[this.#span] as
      | Span
      | undefined;
    span?.addEvent(RETRY_DENIED_EVENT, {
      [A.attempt]: m.attempt,
      [A.target]: m.target,
      [A.statusCode]: m.code,
      [A.errorType]: m.code,
    });
  }
}

/** What a call's or a cast's span starts with. */
function startAttributes(ctx: CallTrace | CastTrace): Attributes {
  const attributes: Attributes = {
    [A.systemName]: RPC_SYSTEM_NAME,
    [A.method]: methodName(ctx.module, ctx.function),
    [A.serverAddress]: ctx.balancer ?? ctx.target,
    [A.node]: ctx.node,
  };
  if (ctx.balancer !== undefined) attributes[A.balancer] = ctx.balancer;
  return attributes;
}
