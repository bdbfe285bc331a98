/** The shape of `npm run bench:balance` results, and how one measurement is summarised. */
import type { MachineInfo } from '../lib/machine.js';
import { percentileSorted } from '../lib/stats.js';
import type { WorkerStats } from './cluster.js';
import type { Mode, ModelConfig, ScenarioId } from './scenarios.js';
import type { CallerResult, Contender, ErrorCounts } from './types.js';

/** Latency of the successful calls of one measurement, all callers together (ms). */
export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  mean: number;
  max: number;
  count: number;
}

export interface BalanceMeasurement {
  scenario: ScenarioId;
  callers: number;
  /** Contender id (`family:label`). */
  contender: string;
  /** Position in its scenario × callers group (the order rotates from group to group). */
  order: number;
  /** Offered load, all callers together (calls/s). */
  ratePerSec: number;
  issued: number;
  ok: number;
  errors: ErrorCounts;
  /** Failed calls ÷ issued calls. */
  errorRate: number;
  latencyMs?: LatencySummary;
  /** Share of the window's calls each worker slot received (counted by the workers). */
  shares: number[];
  /** Share of the replies (successful, or failed by the worker) that came from each slot. */
  replyShares?: number[];
  /** Largest number of calls in each worker at once (null: it was killed, or did not answer). */
  maxQueue: (number | null)[];
  /** How late the callers sent calls after their scheduled arrival (ms): the worst caller. */
  lagMs: { p99: number; max: number };
  /** How long the callers waited to see exactly the expected workers before the run (ms). */
  prepareMs: number;
  /** CPU time the caller processes used per call they sent (µs), warm-up included. */
  callerCpuUsPerCall: number;
  /** The measurement failed: why. */
  error?: string;
  /** A few error messages the callers saw, one per kind. */
  samples?: string[];
}

export interface BalanceResults {
  mode: 'quick' | 'full';
  command: string;
  /** False when options narrowed the run (systems, algorithms, scenarios, callers). */
  complete: boolean;
  startedAt: string;
  durationS: number;
  /** 1, 5 and 15-minute load averages just before and just after the run. */
  loadBefore: number[];
  loadAfter: number[];
  machine: MachineInfo;
  natsServer: string;
  model: ModelConfig;
  run: Mode;
  scenarios: ScenarioId[];
  contenders: Contender[];
  /** Contenders or systems that could not be measured, and why. */
  skipped: Record<string, string>;
  stoppedEarly?: string;
  measurements: BalanceMeasurement[];
}

const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

export function summariseLatency(latencies: number[]): LatencySummary | undefined {
  if (latencies.length === 0) return undefined;
  const s = Float64Array.from(latencies).sort();
  let sum = 0;
  for (const v of s) sum += v;
  return {
    p50: round(percentileSorted(s, 50)),
    p90: round(percentileSorted(s, 90)),
    p99: round(percentileSorted(s, 99)),
    p999: round(percentileSorted(s, 99.9)),
    mean: round(sum / s.length),
    max: round(s[s.length - 1] as number),
    count: s.length,
  };
}

/** Adds up the callers' figures into one measurement. */
export function summarise(
  base: Pick<BalanceMeasurement, 'scenario' | 'callers' | 'contender' | 'order' | 'ratePerSec'>,
  results: CallerResult[],
  stats: WorkerStats,
  received: number[],
  prepareMs: number,
  slots: number,
): BalanceMeasurement {
  const errors: ErrorCounts = { failed: 0, timeout: 0, unavailable: 0, other: 0 };
  const perSlot = new Array<number>(slots).fill(0);
  let issued = 0;
  let ok = 0;
  const latencies: number[] = [];
  const samples = new Set<string>();
  for (const r of results) {
    issued += r.issued;
    ok += r.ok;
    for (const k of Object.keys(errors) as (keyof ErrorCounts)[]) errors[k] += r.errors[k];
    r.perSlot.forEach((n, i) => {
      if (i < slots) perSlot[i] = (perSlot[i] as number) + n;
    });
    for (const v of r.latenciesMs) latencies.push(v);
    for (const s of r.samples) samples.add(s);
  }
  const attributed = perSlot.reduce((a, b) => a + b, 0);
  const arrived = received.reduce((a, b) => a + b, 0);
  const failed = errors.failed + errors.timeout + errors.unavailable + errors.other;
  const m: BalanceMeasurement = {
    ...base,
    ratePerSec: round(base.ratePerSec, 1),
    issued,
    ok,
    errors,
    errorRate: issued > 0 ? round(failed / issued, 5) : 0,
    shares: received.map((n) => (arrived > 0 ? round(n / arrived, 4) : 0)),
    replyShares: perSlot.map((n) => (attributed > 0 ? round(n / attributed, 4) : 0)),
    maxQueue: Array.from({ length: slots }, (_, i) => stats[i]?.maxInSystem ?? null),
    lagMs: {
      p99: round(Math.max(0, ...results.map((r) => r.lagMs.p99))),
      max: round(Math.max(0, ...results.map((r) => r.lagMs.max))),
    },
    prepareMs,
    callerCpuUsPerCall: 0,
  };
  const cpuUs = results.reduce((sum, r) => sum + r.cpuUs, 0);
  const calls = results.reduce((sum, r) => sum + r.sent, 0);
  if (calls > 0) m.callerCpuUsPerCall = round(cpuUs / calls, 1);
  const latency = summariseLatency(latencies);
  if (latency) m.latencyMs = latency;
  if (samples.size > 0) m.samples = [...samples].slice(0, 6);
  return m;
}

/** A measurement that could not be made. */
export function failedMeasurement(
  base: Pick<BalanceMeasurement, 'scenario' | 'callers' | 'contender' | 'order'>,
  error: string,
): BalanceMeasurement {
  return {
    ...base,
    ratePerSec: 0,
    issued: 0,
    ok: 0,
    errors: { failed: 0, timeout: 0, unavailable: 0, other: 0 },
    errorRate: 0,
    shares: [],
    maxQueue: [],
    lagMs: { p99: 0, max: 0 },
    prepareMs: 0,
    callerCpuUsPerCall: 0,
    error,
  };
}
