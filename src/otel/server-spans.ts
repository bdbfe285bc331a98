/**
 * Server side: a SERVER span (CONSUMER for a cast) per call served, the child of the context the
 * caller put in the call's metadata (extracted with the globally configured propagator), and
 * active while the handler runs, so spans the handler starts are its children; and the
 * `rpc.server.call.duration` histogram.
 *
 * The span becomes active through the `serve` channel's `start.runStores()`: this module binds a
 * store to it whose "run" enters the span's context through the OpenTelemetry API
 * (`context.with`), so it works with any context manager. Node.js 26 enters stores with
 * `withScope()` instead, which the API has no call for: there the context manager's own scope
 * entry is used when it offers one (`attach()`, or its AsyncLocalStorage's `withScope()`),
 * else the span is still reported but not made active.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import {
  type Attributes,
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  trace,
} from '@opentelemetry/api';
import { outcomeStatus } from '../trace-outcome.js';
import { type ServeTrace, TRACING_CHANNELS } from '../tracing.js';
import {
  ATTRIBUTES as A,
  applyOutcome,
  finish,
  type Instruments,
  methodName,
  RPC_SYSTEM_NAME,
} from './conventions.js';

type Marked = ServeTrace & Record<symbol, unknown>;

/** `Channel.bindStore` / `unbindStore`, typed for a store that is not an `AsyncLocalStorage`. */
interface StoreBinder {
  bindStore(store: object, transform: (message: unknown) => unknown): void;
  unbindStore(store: object): void;
}

/** A store for `runStores`: enters an OpenTelemetry context for the handler. */
const CONTEXT_STORE = {
  run<R>(ctx: Context, fn: (...args: unknown[]) => R, ...args: unknown[]): R {
    return context.with(ctx, fn, undefined, ...args);
  },
  withScope(ctx: Context): object {
    return enterScope(ctx);
  },
};

export class ServerSpans {
  readonly #instruments: Instruments;
  readonly #channel = diagnosticsChannel.tracingChannel<ServeTrace>(TRACING_CHANNELS.serve);
  readonly #span = Symbol('rpclb.otel.span');
  readonly #started = Symbol('rpclb.otel.started');
  readonly #onStart = (ctx: unknown) => this.#onStarted(ctx as Marked);
  readonly #onEnd = (ctx: unknown) => this.#ended(ctx as Marked);
  readonly #transform = (ctx: unknown) => this.#startSpan(ctx as Marked);

  constructor(instruments: Instruments) {
    this.#instruments = instruments;
  }

  enable(): void {
    const channel = this.#channel;
    if (this.#instruments.tracer !== undefined) {
      // A duck-typed store: `runStores` only calls its `run` (or `withScope`).
      (channel.start as unknown as StoreBinder).bindStore(CONTEXT_STORE, this.#transform);
    }
    channel.start.subscribe(this.#onStart);
    channel.asyncEnd.subscribe(this.#onEnd);
  }

  disable(): void {
    const channel = this.#channel;
    (channel.start as unknown as StoreBinder).unbindStore(CONTEXT_STORE);
    channel.start.unsubscribe(this.#onStart);
    channel.asyncEnd.unsubscribe(this.#onEnd);
  }

  /** The handler is about to run: its span, and the context that makes it active. */
  #startSpan(ctx: Marked): Context {
    const tracer = this.#instruments.tracer;
    ctx[this.#started] = performance.now();
    const parent = propagation.extract(ROOT_CONTEXT, ctx.meta);
    if (tracer === undefined) return parent;
    const method = methodName(ctx.module, ctx.function);
    const attributes: Attributes = {
      [A.systemName]: RPC_SYSTEM_NAME,
      [A.method]: method,
      [A.serverAddress]: ctx.node,
      [A.node]: ctx.node,
      [A.caller]: ctx.caller,
    };
    if (ctx.isCast) attributes[A.cast] = true;
    const kind = ctx.isCast ? SpanKind.CONSUMER : SpanKind.SERVER;
    const span = tracer.startSpan(method, { kind, attributes }, parent);
    ctx[this.#span] = span;
    return trace.setSpan(parent, span);
  }

  /** `start` is published without `runStores` for a call refused before any handler ran. */
  #onStarted(ctx: Marked): void {
    if (ctx[this.#started] === undefined) this.#startSpan(ctx);
  }

  #ended(ctx: Marked): void {
    const status = outcomeStatus(ctx);
    const attributes: Attributes = {
      [A.systemName]: RPC_SYSTEM_NAME,
      [A.method]: methodName(ctx.module, ctx.function),
    };
    const failed = applyOutcome(attributes, status, ctx.error, 'server');
    const span = ctx[this.#span] as Span | undefined;
    if (span !== undefined) {
      span.setAttributes(attributes);
      finish(span, status === 'not_found', failed, ctx.error);
    }
    const started = ctx[this.#started] as number | undefined;
    if (started !== undefined && !ctx.isCast) {
      this.#instruments.serverDuration?.record((performance.now() - started) / 1000, attributes);
    }
  }
}

const NO_SCOPE = { [disposeSymbol()]() {} };

/** Node.js 26+: enters `ctx` until the returned scope is disposed. */
function enterScope(ctx: Context): object {
  const manager = (
    context as unknown as { _getContextManager?: () => unknown }
  )._getContextManager?.() as
    | {
        attach?: (ctx: Context) => { dispose?: () => void };
        _asyncLocalStorage?: { withScope?: (ctx: Context) => object };
      }
    | undefined;
  if (typeof manager?.attach === 'function') {
    const token = manager.attach(ctx) as Record<symbol, () => void> & { dispose?: () => void };
    const dispose = disposeSymbol();
    return typeof token[dispose] === 'function' ? token : { [dispose]: () => token.dispose?.() };
  }
  return manager?._asyncLocalStorage?.withScope?.(ctx) ?? NO_SCOPE;
}

function disposeSymbol(): symbol {
  return (Symbol as { dispose?: symbol }).dispose ?? Symbol.for('nodejs.dispose');
}
