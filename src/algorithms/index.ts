/**
 * The built-in selection algorithms and the interface for writing your own.
 *
 * Every algorithm here is pure (no I/O, no timers) and takes its randomness from the balancer's
 * injected source; see `docs/explanation/algorithms.md` for how each one works.
 */

import { CallDirect } from './call-direct.js';
import { HashRing } from './hash-ring.js';
import { LeastConnections } from './least-connections.js';
import { LeastCpu } from './least-cpu.js';
import { LeastLoaded } from './least-loaded.js';
import { PowerOfTwo } from './power-of-two.js';
import { ProbingLeastLoaded } from './probing-least-loaded.js';
import { Random } from './random.js';
import { RoundRobin } from './round-robin.js';
import { WeightedRoundRobin } from './weighted-round-robin.js';

export { CallDirect } from './call-direct.js';
export { type HashKey, hashKey } from './hash.js';
export {
  DEFAULT_HASH_RING_WEIGHT,
  HashRing,
  type HashRingOptions,
  MAX_HASH_RING_WEIGHT,
} from './hash-ring.js';
export type { InFlightAlgorithmOptions } from './in-flight-counters.js';
export { LeastConnections } from './least-connections.js';
export {
  DEFAULT_CPU_POLL_INTERVAL_MS,
  DEFAULT_CPU_STALE_AFTER_MS,
  DEFAULT_CPU_THRESHOLD_PERCENT,
  LeastCpu,
  type LeastCpuOptions,
  MISSING_CPU_PERCENT,
} from './least-cpu.js';
export {
  DEFAULT_FAILURE_PENALTY,
  DEFAULT_LEAST_LOADED_DECAY_MS,
  DEFAULT_PENALTY_CODES,
  LeastLoaded,
  type LeastLoadedOptions,
} from './least-loaded.js';
export {
  DEFAULT_UNHEALTHY_CODES,
  failureCode,
  isUnhealthyFailure,
  normaliseLoad,
} from './outcome.js';
export { PowerOfTwo } from './power-of-two.js';
export {
  DEFAULT_PROBE_MAX_USES,
  DEFAULT_PROBES,
  ProbingLeastLoaded,
  type ProbingLeastLoadedOptions,
} from './probing-least-loaded.js';
export { Random } from './random.js';
export { RoundRobin, type RoundRobinOptions } from './round-robin.js';
export {
  DEFAULT_SLOW_START_MIN_WEIGHT_PERCENT,
  DEFAULT_SLOW_START_WINDOW_MS,
  type SlowStartOptions,
} from './slow-start.js';
export type {
  AlgorithmContext,
  CallOutcome,
  NodeChange,
  SelectionAlgorithm,
  SelectionAlgorithmClass,
  SelectOptions,
  ServerLoad,
} from './types.js';
export {
  DEFAULT_WEIGHT,
  MAX_WEIGHT,
  WeightedRoundRobin,
  type WeightedRoundRobinOptions,
} from './weighted-round-robin.js';

/**
 * The built-in algorithms, to pass as `startLoadBalancer({ selectionAlgorithm })`.
 *
 * @example
 * ```ts
 * await node.startLoadBalancer({ name: 'jobs', selectionAlgorithm: algorithms.LeastConnections });
 * ```
 */
export const algorithms = Object.freeze({
  Random,
  RoundRobin,
  LeastConnections,
  LeastLoaded,
  LeastCpu,
  PowerOfTwo,
  ProbingLeastLoaded,
  HashRing,
  WeightedRoundRobin,
  /** Routes every call to the local node, in-process (tests without a cluster). */
  CallDirect,
});
