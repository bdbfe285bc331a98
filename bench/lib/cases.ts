/** The benchmark's cases, modes and targets. */
import type { PayloadKind } from './payloads.js';

export interface CaseDef {
  id: string;
  title: string;
  payload: PayloadKind;
  concurrency: number;
  balanced: boolean;
  /** Sequential cases record each call's latency. */
  recordLatency: boolean;
}

function c(
  id: string,
  title: string,
  payload: PayloadKind,
  concurrency: number,
  balanced = false,
): CaseDef {
  return { id, title, payload, concurrency, balanced, recordLatency: concurrency === 1 };
}

export const CASES: readonly CaseDef[] = [
  c('seq-64B', 'sequential, 64 B', 'small', 1),
  c('c16-64B', '16 in flight, 64 B', 'small', 16),
  c('c256-64B', '256 in flight, 64 B', 'small', 256),
  c('lb-64B', '1 → 3 servers, 64 in flight, 64 B', 'small', 64, true),
  c('seq-4K', 'sequential, 4 KiB', 'medium', 1),
  c('c16-4K', '16 in flight, 4 KiB', 'medium', 16),
  c('c256-4K', '256 in flight, 4 KiB', 'medium', 256),
  c('lb-4K', '1 → 3 servers, 64 in flight, 4 KiB', 'medium', 64, true),
  c('echo-1M', 'echo 1 MiB buffer, sequential', 'large', 1),
];

/** How long things take in each mode. */
export interface ModeConfig {
  passes: number;
  /** Measured time per case, per system, per pass. */
  durationMs: number;
  /** Unmeasured calls of the same case just before each measurement. */
  warmupMs: number;
  /** Unmeasured calls per payload when a system has just started. */
  initialWarmupMs: number;
  /** Stop adding passes once this much time has gone (the report says so). */
  budgetMs: number;
  /** Kill everything and fail after this long. */
  hardDeadlineMs: number;
}

export const MODES: Record<'quick' | 'full', ModeConfig> = {
  quick: {
    passes: 4,
    durationMs: 300,
    warmupMs: 120,
    initialWarmupMs: 300,
    budgetMs: 85_000,
    hardDeadlineMs: 150_000,
  },
  full: {
    passes: 10,
    durationMs: 800,
    warmupMs: 200,
    initialWarmupMs: 1_000,
    budgetMs: 480_000,
    hardDeadlineMs: 570_000,
  },
};

/** A ratio target for rpc-load-balancer against the floor, measured in the same run. */
export interface TargetDef {
  caseId: string;
  metric: 'throughput' | 'p50';
  /** `min`: ratio must be at least `ratio`; `max`: at most. */
  bound: 'min' | 'max';
  /** The floor the ratio is taken against. @default 'floor' (the project codec) */
  reference?: 'floor' | 'floorPlain';
  ratio: number;
  label: string;
}

export const TARGETS: readonly TargetDef[] = [
  {
    caseId: 'c256-64B',
    metric: 'throughput',
    bound: 'min',
    ratio: 0.7,
    label: 'throughput, 256 in flight, 64 B',
  },
  {
    caseId: 'c256-64B',
    metric: 'throughput',
    bound: 'min',
    ratio: 0.75,
    reference: 'floorPlain',
    label: 'throughput, 256 in flight, 64 B, vs the plain-msgpackr floor',
  },
  { caseId: 'seq-64B', metric: 'p50', bound: 'max', ratio: 1.3, label: 'sequential p50, 64 B' },
  {
    caseId: 'lb-64B',
    metric: 'throughput',
    bound: 'min',
    ratio: 0.85,
    label: 'throughput through the balancer, 1 → 3 servers, 64 B',
  },
  {
    caseId: 'c256-4K',
    metric: 'throughput',
    bound: 'min',
    ratio: 0.7,
    label: 'throughput, 256 in flight, 4 KiB',
  },
  { caseId: 'echo-1M', metric: 'throughput', bound: 'min', ratio: 0.7, label: 'echo of 1 MiB' },
];
