/** Options of {@link LeastLoaded}, their defaults and their validation. */
import { isRpcErrorCode, type RpcErrorCode } from '../errors.js';
import { DEFAULT_UNHEALTHY_CODES } from './outcome.js';
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
   * A failure that means the node is unhealthy counts as a latency of at least this many times
   * the balancer's typical latency, and replaces the member's estimate when higher: a node that
   * fails fast looks slow, not fast.
   * @default 5
   */
  failurePenalty?: number;
  /**
   * The failure codes that count as unhealthy; other failures (a caller's `bad_request`, a
   * handler's own exception) teach the algorithm nothing.
   * @default ['service_unavailable', 'request_timeout']
   */
  unhealthyCodes?: readonly RpcErrorCode[];
  /**
   * Also let any latency sample above the estimate replace it, as Finagle's peak EWMA does. Off
   * by default: the simulator measured it raising p99 by 15–25 % (docs/explanation/algorithms.md).
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

/** {@link LeastLoadedOptions} validated, with the defaults applied. */
export interface ResolvedLeastLoadedOptions {
  readonly decayMs: number;
  readonly failurePenalty: number;
  readonly unhealthyCodes: readonly RpcErrorCode[];
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
    unhealthyCodes: (optionalCodes('unhealthyCodes', o.unhealthyCodes, isRpcErrorCode) ??
      DEFAULT_UNHEALTHY_CODES) as readonly RpcErrorCode[],
    peakSensitive: o.peakSensitive === true,
    slowStart: o.slowStart,
  };
}
