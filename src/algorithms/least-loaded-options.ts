/** Options of {@link LeastLoaded}, their defaults and their validation. */
import { isRpcErrorCode, type RpcErrorCode } from '../errors.js';
import type { SlowStartOptions } from './slow-start.js';
import { optionalCodes, optionalNumber } from './validate.js';

/** Options of {@link LeastLoaded}. */
export interface LeastLoadedOptions {
  /**
   * Time constant of each member's latency average, in ms: a sample's weight is
   * `1 - exp(-Δt / decayMs)` for the time `Δt` since the member's previous sample (a plain mean
   * over the first samples). It is also how fast the estimate of a member that gets no calls
   * fades towards zero, so an avoided member is tried again.
   * @default 60_000
   */
  decayMs?: number;
  /**
   * A failure (see `penaltyCodes`) counts as a latency of at least this many times
   * the balancer's typical latency, and replaces the member's estimate when higher: a node that
   * fails fast looks slow, not fast.
   * @default 5
   */
  failurePenalty?: number;
  /**
   * The failures that count as a penalty: by default the node's own failures — unreachable,
   * draining or lost (`service_unavailable`), too slow (`request_timeout`) and its handler
   * throwing (`internal_server_error`), so a node that fails fast looks slow, not fast. Other
   * failures (a caller's `bad_request`, `not_found`) and aborted calls teach it nothing.
   * (Outlier ejection, a heavier hammer, does not count a handler's exceptions by default.)
   * @default ['service_unavailable', 'request_timeout', 'internal_server_error']
   */
  penaltyCodes?: readonly RpcErrorCode[];
  /**
   * Also let any latency sample above the estimate replace it, as Finagle's peak EWMA does. Off
   * by default: in the simulator it raised p99 by 8–19 % (docs/explanation/algorithms.md).
   * @default false
   */
  peakSensitive?: boolean;
  /** Ramp up new members' share (Envoy's slow start); off when absent. */
  slowStart?: SlowStartOptions;
}

/** Default {@link LeastLoadedOptions.decayMs}. */
export const DEFAULT_LEAST_LOADED_DECAY_MS = 60_000;
/** Default {@link LeastLoadedOptions.failurePenalty}. */
export const DEFAULT_FAILURE_PENALTY = 5;
/** Default {@link LeastLoadedOptions.penaltyCodes}. */
export const DEFAULT_PENALTY_CODES: readonly RpcErrorCode[] = Object.freeze([
  'service_unavailable',
  'request_timeout',
  'internal_server_error',
]);

/** {@link LeastLoadedOptions} validated, with the defaults applied. */
export interface ResolvedLeastLoadedOptions {
  readonly decayMs: number;
  readonly failurePenalty: number;
  readonly penaltyCodes: readonly RpcErrorCode[];
  readonly peakSensitive: boolean;
  /** Still raw: `createSlowStart` validates it. */
  readonly slowStart: unknown;
}

/**
 * Validates `algorithmOpts` of {@link LeastLoaded} (and its subclasses) and applies the
 * defaults. Unknown fields are ignored, so a simulator's extra options do no harm.
 *
 * @throws TypeError naming the field when a value is out of range.
 */
export function resolveLeastLoaded(
  options: LeastLoadedOptions | undefined,
): ResolvedLeastLoadedOptions {
  const o = options ?? {};
  const inf = Number.POSITIVE_INFINITY;
  return {
    decayMs: optionalNumber('decayMs', o.decayMs, DEFAULT_LEAST_LOADED_DECAY_MS, 1, inf),
    failurePenalty: optionalNumber(
      'failurePenalty',
      o.failurePenalty,
      DEFAULT_FAILURE_PENALTY,
      1,
      inf,
    ),
    penaltyCodes: (optionalCodes('penaltyCodes', o.penaltyCodes, isRpcErrorCode) ??
      DEFAULT_PENALTY_CODES) as readonly RpcErrorCode[],
    peakSensitive: o.peakSensitive === true,
    slowStart: o.slowStart,
  };
}
