/**
 * One `lb.call`: the call object the balancer carries from selection through the client to the
 * wire and back, across retries. Each attempt is an `OutgoingCall` the client tracks; when it
 * ends the selection is released with its outcome, and the call either settles or tries another
 * member.
 */
import type { CallOutcome } from '../algorithms/types.js';
import { RpcError } from '../errors.js';
import { OutgoingCall } from '../rpc/call.js';
import type { CallMetadata } from '../rpc/envelope.js';
import {
  type AttemptTrace,
  channels,
  OutgoingTrace,
  traced,
  traceSettled,
  traceStart,
} from '../tracing.js';
import { attemptTimeout, remaining, retryable } from './call-policy.js';
import type { Selection } from './selector.js';

export type { Selection } from './selector.js';

/** What a balanced call needs from its balancer. */
export interface CallRunner {
  /** The balancer's name. */
  readonly name: string;
  /** The node's name. */
  readonly node: string;
  readonly maxAttempts: number;
  /** The balancer's clock (ms). */
  now(): number;
  /**
   * Selects a member for `call`: at once when one is at hand, else after waiting (for a member,
   * or for probes), or fails. `now`: the clock's reading.
   */
  select(call: BalancedCall, now: number): Selection | Promise<Selection>;
  /** Hands an attempt to the client. */
  send(attempt: Attempt): void;
  /** Ends a selection, telling the algorithm (and outlier detection) how it went. */
  release(selection: Selection, outcome: CallOutcome, now: number): void;
  /** A failed attempt may be retried: `true` when the retry budget allows it. */
  mayRetry(attempt: Attempt, err: RpcError): boolean;
  /** The call settled. */
  settled(call: BalancedCall): void;
}

/** The options a balanced call carries, validated. */
export interface BalancedCallSpec {
  readonly selectOpts: Record<string, unknown>;
  readonly timeout: number;
  readonly signal: AbortSignal | undefined;
  readonly idempotent: boolean;
  readonly meta: CallMetadata | undefined;
  readonly onTrailer: ((trailer: CallMetadata) => void) | undefined;
  /** With no members, wait for one within the timeout (the call's option, else the balancer's). */
  readonly waitForMembers: boolean;
}

/** One attempt of a balanced call. */
export class Attempt extends OutgoingCall {
  /** When it was handed to the client, on the balancer's clock. */
  startedAt = 0;
  /** Its `rpc-load-balancer:attempt` trace, while someone subscribes. */
  trace: AttemptTrace | undefined;

  constructor(
    readonly parent: BalancedCall,
    readonly selection: Selection,
    timeoutMs: number,
  ) {
    const spec = parent.spec;
    super(
      selection.node,
      parent.module,
      parent.fn,
      parent.args,
      timeoutMs,
      spec.signal,
      spec.meta,
      spec.onTrailer,
    );
  }

  end(ok: boolean, value: unknown): void {
    this.parent.attemptEnded(this, ok, value);
  }
}

/** A call through a balancer, from selection to its last attempt. */
export class BalancedCall {
  readonly promise: Promise<unknown>;
  /** When the whole call times out (`Date.now()` ms). */
  readonly deadline: number;
  /** Attempts started so far. */
  attempts = 0;
  /** Nodes that refused an earlier attempt (avoided when another member is at hand). */
  tried: string[] | undefined;
  /** `true` once a selection had to wait (for members or probes): time was spent before sending. */
  waited = false;
  /** Its `rpc-load-balancer:call` trace, while someone subscribes. */
  readonly trace: OutgoingTrace | undefined;
  /** What its attempts carry (the caller's options; with the trace's metadata when traced). */
  readonly spec: BalancedCallSpec;
  #resolve: (value: unknown) => void = noop;
  #reject: (err: unknown) => void = noop;

  constructor(
    readonly runner: CallRunner,
    readonly module: string,
    readonly fn: string,
    readonly args: unknown[],
    spec: BalancedCallSpec,
  ) {
    this.deadline = Date.now() + spec.timeout;
    if (traced(channels.call)) {
      const trace = new OutgoingTrace(runner.node, runner.name, undefined, module, fn, spec.meta);
      traceStart(channels.call, trace);
      this.trace = trace;
      const meta = trace.outgoingMeta;
      if (meta !== spec.meta) spec = { ...spec, meta };
    }
    this.spec = spec;
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** Starts the next attempt (the first one from `lb.call`); `now`: the balancer clock's reading. */
  next(now: number = this.runner.now()): void {
    let selection: Selection | Promise<Selection>;
    try {
      selection = this.runner.select(this, now);
    } catch (err) {
      return this.#fail(err);
    }
    if (selection instanceof Promise) {
      this.waited = true;
      selection.then(
        (s) => this.#send(s, this.runner.now()),
        (err: unknown) => this.#fail(err),
      );
    } else {
      this.#send(selection, now);
    }
  }

  #send(selection: Selection, now: number): void {
    this.attempts++;
    // the first attempt, sent at once, has the caller's whole timeout (no clock read for it)
    const timeoutMs =
      this.attempts === 1 && !this.waited
        ? this.spec.timeout
        : attemptTimeout(this.spec.timeout, this.deadline);
    const attempt = new Attempt(this, selection, timeoutMs);
    if (this.trace !== undefined) {
      this.trace.attempts = this.attempts;
      this.trace.target = selection.node;
    }
    if (traced(channels.attempt)) {
      attempt.trace = {
        call: this.trace,
        node: this.runner.node,
        balancer: this.runner.name,
        module: this.module,
        function: this.fn,
        attempt: this.attempts,
        target: selection.node,
      };
      traceStart(channels.attempt, attempt.trace);
    }
    attempt.startedAt = now;
    this.runner.send(attempt);
  }

  /** An attempt ended: release its selection, then settle or retry. */
  attemptEnded(attempt: Attempt, ok: boolean, value: unknown): void {
    const runner = this.runner;
    const now = runner.now();
    const outcome: CallOutcome = { ok, latencyMs: now - attempt.startedAt, at: now };
    if (attempt.code !== undefined) outcome.code = attempt.code;
    const load = attempt.load;
    // stamped again on the balancer's clock, which tests may replace
    if (load !== undefined) outcome.load = { inFlight: load.inFlight, elu: load.elu, at: now };
    runner.release(attempt.selection, outcome, now);
    const trace = attempt.trace;
    if (trace !== undefined) {
      trace.latencyMs = outcome.latencyMs;
      if (outcome.code !== undefined) trace.code = outcome.code;
      if (outcome.load !== undefined) trace.load = outcome.load;
      traceSettled(channels.attempt, trace, ok, value);
    }
    if (ok) {
      runner.settled(this);
      if (this.trace !== undefined) traceSettled(channels.call, this.trace, true, value);
      this.#resolve(value);
      return;
    }
    if (!(value instanceof RpcError)) return this.#fail(value);
    value.details.balancer = runner.name;
    if (
      this.attempts >= runner.maxAttempts ||
      remaining(this.deadline) <= 1 ||
      !retryable(value, this.spec.idempotent) ||
      // a spent retry budget fails the call with this attempt's (real) error
      !runner.mayRetry(attempt, value)
    ) {
      return this.#fail(value);
    }
    (this.tried ??= []).push(attempt.target);
    this.next(now);
  }

  #fail(err: unknown): void {
    if (err instanceof RpcError) err.details.balancer ??= this.runner.name;
    this.runner.settled(this);
    if (this.trace !== undefined) {
      if (err instanceof RpcError) this.trace.code = err.code;
      traceSettled(channels.call, this.trace, false, err);
    }
    this.#reject(err);
  }
}

function noop(): void {}
