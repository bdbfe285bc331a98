/**
 * The OpenTelemetry RPC semantic conventions as this library applies them: attribute names, the
 * system name, how a method is named, which outcomes are errors, and what `error.type` says.
 */
import {
  type Attributes,
  type Counter,
  type Histogram,
  type Span,
  SpanStatusCode,
  type Tracer,
} from '@opentelemetry/api';
import { type OutcomeStatus, SERVER_FAULT_CODES } from '../trace-outcome.js';

/** The value of `rpc.system.name` on every span and measurement (a custom value, as the conventions allow). */
export const RPC_SYSTEM_NAME = 'rpclb';

/** The name of the span event recording one attempt of a balanced call. */
export const ATTEMPT_EVENT = 'rpclb.attempt';

/**
 * The name of the span event recording that a failed attempt of a balanced call could have been
 * retried but the balancer's retry budget was spent: the call fails with that attempt's error.
 */
export const RETRY_DENIED_EVENT = 'rpclb.retry.budget_exhausted';

/** Attribute names: the conventions' own, then this library's (`rpclb.*`). */
export const ATTRIBUTES = Object.freeze({
  systemName: 'rpc.system.name',
  method: 'rpc.method',
  methodOriginal: 'rpc.method_original',
  statusCode: 'rpc.status_code',
  serverAddress: 'server.address',
  errorType: 'error.type',
  /** The node reporting the span (the caller on a client span, the server on a server span). */
  node: 'rpclb.node',
  /** The balancer of an `lb.call` / `lb.cast`. */
  balancer: 'rpclb.balancer',
  /** Client span: the node the call (its last attempt) went to. */
  target: 'rpclb.target',
  /** Client span of a balanced call: how many attempts it took. */
  attempts: 'rpclb.attempts',
  /** Attempt event: its number (1 for the first). */
  attempt: 'rpclb.attempt',
  /** Attempt event: its wall time, in seconds. */
  attemptDuration: 'rpclb.attempt.duration',
  /** Attempt event: calls the target reported in flight with its reply. */
  serverInFlight: 'rpclb.server.in_flight',
  /** Attempt event: the target's reported event-loop utilisation (0 to 1). */
  serverElu: 'rpclb.server.event_loop_utilization',
  /** Server span: the calling node. */
  caller: 'rpclb.caller',
  /** `true` on the spans of a cast. */
  cast: 'rpclb.cast',
  /** Ejection metric: the member ejected. */
  member: 'rpclb.member',
  /** Ejection metric: why (`consecutive_failures`, `failure_percentage`, `success_rate`). */
  ejectionReason: 'rpclb.ejection.reason',
  /** Probe metric: `ok`, or `failed` (no answer in time). */
  probeResult: 'rpclb.probe.result',
});

/** @internal What spans and measurements are reported with (absent when turned off). */
export interface Instruments {
  readonly tracer: Tracer | undefined;
  readonly clientDuration: Histogram | undefined;
  readonly serverDuration: Histogram | undefined;
  /** `rpclb.balancer.ejections` */
  readonly ejections: Counter | undefined;
  /** `rpclb.balancer.probes` */
  readonly probes: Counter | undefined;
  /** `rpclb.balancer.probe.duration` */
  readonly probeDuration: Histogram | undefined;
}

/** @internal `Module/function`, as `rpc.method` spells it. */
export function methodName(module: string, fn: string): string {
  return `${module}/${fn}`;
}

/**
 * @internal What the attributes of a finished operation say about its outcome, applied to
 * `attributes`: `rpc.status_code`, and for a failure `error.type` (its code, or the abort
 * reason's name). A method the server did not know (`not_found`) is reported as `_OTHER`, with
 * the name used in `rpc.method_original`, as the conventions require for unrecognised methods
 * (it also keeps names that came from the network out of metric attributes).
 * Returns whether the outcome counts as an error for this side.
 */
export function applyOutcome(
  attributes: Attributes,
  status: OutcomeStatus,
  error: unknown,
  side: 'client' | 'server',
): boolean {
  if (status === 'ok') {
    attributes[ATTRIBUTES.statusCode] = 'ok';
    return false;
  }
  if (status === 'not_found') {
    attributes[ATTRIBUTES.methodOriginal] = attributes[ATTRIBUTES.method];
    attributes[ATTRIBUTES.method] = '_OTHER';
  }
  if (status === 'aborted') {
    attributes[ATTRIBUTES.errorType] = abortName(error);
    return true;
  }
  attributes[ATTRIBUTES.statusCode] = status;
  if (side === 'server' && !SERVER_FAULT_CODES.has(status)) return false;
  attributes[ATTRIBUTES.errorType] = status;
  return true;
}

/** The `error.type` of an abort: the reason's `name` when it is an `Error` (`AbortError`, `TimeoutError`), else `_OTHER`. */
function abortName(reason: unknown): string {
  return reason instanceof Error ? reason.name : '_OTHER';
}

/** A failure's message, for the span status description. */
function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Ends `span`: renamed to the system's name for an unknown method, error status for a failure. */
/** @internal */
export function finish(span: Span, unknownMethod: boolean, failed: boolean, error: unknown): void {
  if (unknownMethod) span.updateName(RPC_SYSTEM_NAME);
  if (failed) span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
  span.end();
}
