/**
 * Reading what a call or a probe told the caller: which failures say something about the node's
 * health, and the server-reported load in the shapes it arrives in. Shared by the adaptive
 * algorithms here and by the balancer's outlier detector, so both apply one rule.
 */
import type { RpcErrorCode } from '../errors.js';
import type { AlgorithmContext, CallOutcome, ServerLoad } from './types.js';

/**
 * The failure codes that mean "the node is unhealthy" by default: it could not be reached, lost
 * the connection, is draining (`service_unavailable`) or did not answer in time
 * (`request_timeout`). A caller's mistake (`bad_request`, `not_found`) and a handler's own
 * exception (`internal_server_error`) say nothing about the node and are not counted.
 */
export const DEFAULT_UNHEALTHY_CODES: readonly RpcErrorCode[] = Object.freeze([
  'service_unavailable',
  'request_timeout',
]);

/**
 * The code of a failed call: `outcome.code`; `undefined` for a success, a missing outcome and a
 * call that was aborted (the library reports those without a code: the caller gave up, which
 * says nothing about the node). The simulator in `shared/sim` reports failures without codes
 * too, but with a `report`; its failures are a server answering with an error, so they read as
 * `internal_server_error`.
 */
export function failureCode(outcome: CallOutcome | undefined): RpcErrorCode | undefined {
  if (outcome === undefined || outcome.ok) return undefined;
  if (outcome.code !== undefined) return outcome.code;
  return (outcome as { report?: unknown }).report === undefined
    ? undefined
    : 'internal_server_error';
}

/**
 * `true` when `outcome` is a failure that says the node is unhealthy: its code (see
 * {@link failureCode}) is one of `unhealthyCodes`. Successes, aborted calls, a caller's mistakes
 * and, by default, a handler's own exceptions never are.
 *
 * @param outcome - how the call ended, as given to `releaseNode`
 * @param unhealthyCodes - the codes that count; add `internal_server_error` to treat a
 *   handler's exceptions as the node's fault
 *
 * @example
 * ```ts
 * isUnhealthyFailure({ ok: false, latencyMs: 3, code: 'service_unavailable' }); // true
 * isUnhealthyFailure({ ok: false, latencyMs: 3, code: 'bad_request' });         // false
 * ```
 */
export function isUnhealthyFailure(
  outcome: CallOutcome | undefined,
  unhealthyCodes: readonly RpcErrorCode[] = DEFAULT_UNHEALTHY_CODES,
): boolean {
  const code = failureCode(outcome);
  return code !== undefined && unhealthyCodes.includes(code);
}

/**
 * The load report of the discrete-event simulator in `shared/sim` (requests in system, its
 * service-time average, their product, and when it was sent).
 */
interface SimulatorReport {
  queue: number;
  svcMs?: number;
  at?: number;
}

/**
 * Normalises a server load report to a {@link ServerLoad}, or `undefined` when `report` is not
 * one. Accepts the library's own shape (`{ inFlight, elu, at }`) and the simulator's
 * (`{ queue, svcMs, estLatencyMs, at }`): `inFlight` is `inFlight ?? queue`; a report without
 * `elu` estimates it as `queue / (queue + 1)`, the utilisation of a single-worker queue with
 * that mean length; a report without `at` is stamped `now`.
 */
export function normaliseLoad(report: unknown, now: number): ServerLoad | undefined {
  if (typeof report !== 'object' || report === null) return undefined;
  const r = report as Partial<ServerLoad> & Partial<SimulatorReport>;
  const inFlight = typeof r.inFlight === 'number' ? r.inFlight : r.queue;
  if (typeof inFlight !== 'number' || !(inFlight >= 0)) return undefined;
  const elu = typeof r.elu === 'number' ? r.elu : inFlight / (inFlight + 1);
  const at = typeof r.at === 'number' ? r.at : now;
  return { inFlight, elu: Math.min(1, Math.max(0, elu)), at };
}

/**
 * The load carried by an outcome: the library's `outcome.load` as it is (no copy, no clock read:
 * this runs on every release), or the simulator's `outcome.report` normalised with
 * {@link normaliseLoad}. `now` is only called for a report without a time.
 */
export function outcomeLoad(
  outcome: CallOutcome | undefined,
  now: () => number,
): ServerLoad | undefined {
  if (outcome === undefined) return undefined;
  const load = outcome.load;
  if (load !== undefined && load.inFlight >= 0 && load.elu >= 0 && typeof load.at === 'number') {
    return load;
  }
  const carried = load ?? (outcome as { report?: unknown }).report;
  return carried === undefined ? undefined : normaliseLoad(carried, now());
}

/**
 * The probe function a balancer offers: `ctx.probe` (the library) or `ctx.options.probe` (the
 * simulator, and algorithms written against its first README).
 */
export function probeOf(ctx: AlgorithmContext<unknown>): ((node: string) => void) | undefined {
  if (typeof ctx.probe === 'function') return ctx.probe;
  const fromOptions = (ctx.options as { probe?: unknown } | undefined)?.probe;
  return typeof fromOptions === 'function' ? (fromOptions as (node: string) => void) : undefined;
}
