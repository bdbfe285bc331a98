/**
 * Options of the {@link OutlierDetector}, with Envoy's outlier-detection defaults, and their
 * validation (once, at construction).
 */
import { DEFAULT_UNHEALTHY_CODES } from '../algorithms/outcome.js';
import { optionalCodes, optionalNumber, requireRecord } from '../algorithms/validate.js';
import { isRpcErrorCode, type RpcErrorCode } from '../errors.js';

/** The failure-percentage detector (Envoy's `failure_percentage_*`). */
export interface FailurePercentageOptions {
  /** Eject a member when at least this percentage of its counted calls in an interval failed. @default 85 */
  threshold?: number;
  /** Only run when at least this many members have enough calls. @default 5 */
  minimumHosts?: number;
  /** A member needs at least this many counted calls in the interval to be judged. @default 50 */
  requestVolume?: number;
}

/** The success-rate detector (Envoy's `success_rate_*`). */
export interface SuccessRateOptions {
  /** Eject a member whose success rate is below mean − this × standard deviation. @default 1.9 */
  stdevFactor?: number;
  /** Only run when at least this many members have enough calls. @default 5 */
  minimumHosts?: number;
  /** A member needs at least this many counted calls in the interval to be judged. @default 100 */
  requestVolume?: number;
}

/** Options of outlier detection; every field has Envoy's default. */
export interface OutlierDetectionOptions {
  /** Eject a member after this many unhealthy failures in a row; 0 turns the rule off. @default 5 */
  consecutiveFailures?: number;
  /** How often the failure-rate detectors run and the ejection multiplier decays, ms. @default 10_000 */
  intervalMs?: number;
  /** An ejection lasts this long times the number of times the member was ejected, ms. @default 30_000 */
  baseEjectionTimeMs?: number;
  /** Longest ejection, ms (never below `baseEjectionTimeMs`). @default 300_000 */
  maxEjectionTimeMs?: number;
  /** At most this percentage of the members is ejected at once (at least one may be). @default 10 */
  maxEjectionPercent?: number;
  /** Below this percentage of healthy members, balance over all of them (panic). @default 50 */
  panicThresholdPercent?: number;
  /** The failure-percentage detector, or `false` to turn it off. @default {} (on, Envoy's values) */
  failurePercentage?: FailurePercentageOptions | false;
  /** The success-rate detector, or `false` to turn it off. @default {} (on, Envoy's values) */
  successRate?: SuccessRateOptions | false;
  /**
   * The failure codes that count. Add `internal_server_error` to eject members whose handlers
   * keep throwing.
   * @default ['service_unavailable', 'request_timeout']
   */
  unhealthyCodes?: readonly RpcErrorCode[];
}

/** {@link OutlierDetectionOptions} with every default applied. */
export interface ResolvedOutlierDetection {
  readonly consecutiveFailures: number;
  readonly intervalMs: number;
  readonly baseEjectionTimeMs: number;
  readonly maxEjectionTimeMs: number;
  readonly maxEjectionPercent: number;
  readonly panicThresholdPercent: number;
  readonly failurePercentage: Required<FailurePercentageOptions> | false;
  readonly successRate: Required<SuccessRateOptions> | false;
  readonly unhealthyCodes: readonly RpcErrorCode[];
}

/** Envoy's defaults. */
export const DEFAULT_OUTLIER_DETECTION: ResolvedOutlierDetection = Object.freeze({
  consecutiveFailures: 5,
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000,
  maxEjectionPercent: 10,
  panicThresholdPercent: 50,
  failurePercentage: Object.freeze({ threshold: 85, minimumHosts: 5, requestVolume: 50 }),
  successRate: Object.freeze({ stdevFactor: 1.9, minimumHosts: 5, requestVolume: 100 }),
  unhealthyCodes: DEFAULT_UNHEALTHY_CODES,
});

const INF = Number.POSITIVE_INFINITY;

/**
 * Validates `options` and applies the defaults; returns a frozen copy.
 *
 * @throws TypeError naming the field when a value is out of range.
 */
export function resolveOutlierDetection(
  options: OutlierDetectionOptions,
): ResolvedOutlierDetection {
  const o = requireRecord('outlierDetection', options ?? {}, 'an object') ?? {};
  const d = DEFAULT_OUTLIER_DETECTION;
  const int = (field: keyof OutlierDetectionOptions, min: number, max: number): number => {
    const value = optionalNumber(field, o[field], d[field] as number, min, max);
    if (!Number.isInteger(value)) throw new TypeError(`${field} must be an integer, got ${value}`);
    return value;
  };
  return Object.freeze({
    consecutiveFailures: int('consecutiveFailures', 0, INF),
    intervalMs: optionalNumber('intervalMs', o.intervalMs, d.intervalMs, 1, INF),
    baseEjectionTimeMs: optionalNumber(
      'baseEjectionTimeMs',
      o.baseEjectionTimeMs,
      d.baseEjectionTimeMs,
      1,
      INF,
    ),
    maxEjectionTimeMs: optionalNumber(
      'maxEjectionTimeMs',
      o.maxEjectionTimeMs,
      d.maxEjectionTimeMs,
      1,
      INF,
    ),
    maxEjectionPercent: optionalNumber(
      'maxEjectionPercent',
      o.maxEjectionPercent,
      d.maxEjectionPercent,
      0,
      100,
    ),
    panicThresholdPercent: optionalNumber(
      'panicThresholdPercent',
      o.panicThresholdPercent,
      d.panicThresholdPercent,
      0,
      100,
    ),
    failurePercentage: resolveFailurePercentage(o.failurePercentage),
    successRate: resolveSuccessRate(o.successRate),
    unhealthyCodes: (optionalCodes('unhealthyCodes', o.unhealthyCodes, isRpcErrorCode) ??
      d.unhealthyCodes) as readonly RpcErrorCode[],
  });
}

function resolveFailurePercentage(value: unknown): Required<FailurePercentageOptions> | false {
  if (value === false) return false;
  const o = requireRecord('failurePercentage', value ?? {}, 'an object or false') ?? {};
  const d = DEFAULT_OUTLIER_DETECTION.failurePercentage as Required<FailurePercentageOptions>;
  return Object.freeze({
    threshold: optionalNumber('failurePercentage.threshold', o.threshold, d.threshold, 0, 100),
    minimumHosts: optionalNumber(
      'failurePercentage.minimumHosts',
      o.minimumHosts,
      d.minimumHosts,
      1,
      INF,
    ),
    requestVolume: optionalNumber(
      'failurePercentage.requestVolume',
      o.requestVolume,
      d.requestVolume,
      1,
      INF,
    ),
  });
}

function resolveSuccessRate(value: unknown): Required<SuccessRateOptions> | false {
  if (value === false) return false;
  const o = requireRecord('successRate', value ?? {}, 'an object or false') ?? {};
  const d = DEFAULT_OUTLIER_DETECTION.successRate as Required<SuccessRateOptions>;
  return Object.freeze({
    stdevFactor: optionalNumber('successRate.stdevFactor', o.stdevFactor, d.stdevFactor, 0, INF),
    minimumHosts: optionalNumber(
      'successRate.minimumHosts',
      o.minimumHosts,
      d.minimumHosts,
      1,
      INF,
    ),
    requestVolume: optionalNumber(
      'successRate.requestVolume',
      o.requestVolume,
      d.requestVolume,
      1,
      INF,
    ),
  });
}
