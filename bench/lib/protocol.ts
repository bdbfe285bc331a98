/** Messages between the orchestrator (bench/run.ts) and its child processes, over Node IPC. */

import type { PayloadKind } from './payloads.js';
import type { PicksReport } from './picks-types.js';
import type { LatencyDigest } from './stats.js';

/** The systems under comparison, in report order (the floor first). */
export const SYSTEMS = [
  'floor',
  'floorPlain',
  'grpc',
  'moleculer',
  'rpclb',
  'rpclbOtel',
  'rpclbMetrics',
] as const;
export type SystemName = (typeof SYSTEMS)[number];

/** Human names for reports. */
export const SYSTEM_LABELS: Record<SystemName, string> = {
  floor: 'floor (node:net)',
  floorPlain: 'floor, plain msgpackr',
  grpc: '@grpc/grpc-js',
  moleculer: 'Moleculer TCP',
  rpclb: 'rpc-load-balancer',
  rpclbOtel: 'rpc-load-balancer + otel',
  rpclbMetrics: 'rpc-load-balancer + metrics',
};

/**
 * rpc-load-balancer with an observability integration on the client and every server: the cost
 * of observability, read against plain `rpclb` in the same passes. Measured only in the cases
 * of {@link SYSTEM_CASES}, to keep the run within its budget, and left out of the comparison
 * with the other systems.
 */
export const OBSERVED_SYSTEMS: readonly SystemName[] = ['rpclbOtel', 'rpclbMetrics'];

/** Systems measured only in some cases (the others run every case). */
export const SYSTEM_CASES: Partial<Record<SystemName, readonly string[]>> = {
  rpclbOtel: ['c256-64B', 'lb-64B'],
  rpclbMetrics: ['c256-64B', 'lb-64B'],
};

/** Whether `system` is measured in case `caseId`. */
export function measuredIn(system: SystemName, caseId: string): boolean {
  return SYSTEM_CASES[system]?.includes(caseId) ?? true;
}

/** What a server process reports once it listens. */
export interface ServerInfo {
  index: number;
  host: string;
  port: number;
  /** System-specific name: node name (rpclb), node ID (Moleculer). */
  name: string;
  pid: number;
}

/** One measurement, as the orchestrator asks a driver for it. */
export interface RunSpec {
  payload: PayloadKind;
  /** Calls kept in flight. */
  concurrency: number;
  /** Through the system's balancer over all servers (otherwise server 0 only). */
  balanced: boolean;
  durationMs: number;
  /** Record every call's latency (used for the sequential cases). */
  recordLatency: boolean;
}

/** What a driver measured. */
export interface RunResult {
  calls: number;
  elapsedMs: number;
  latency?: LatencyDigest;
  /** CPU time (user + system) the driver process used during the run, in µs. */
  cpuUs?: number;
}

/** One process's memory, read right after a full garbage collection (soak benchmark). */
export interface MemorySample {
  /** `process.memoryUsage().heapUsed` after two `gc()` calls, in bytes. */
  heapUsed: number;
  /** Resident set size at the same moment, in bytes. */
  rss: number;
  /** Calls completed by this process's load so far (the soak caller; 0 elsewhere). */
  calls: number;
  /** Failed calls so far, by error code. */
  failures: Record<string, number>;
}

export type ToChild =
  | { type: 'init'; seq: number; servers: ServerInfo[] }
  | { type: 'load'; seq: number; inFlight: number }
  | { type: 'sample'; seq: number }
  | { type: 'run'; seq: number; spec: RunSpec }
  | { type: 'count'; seq: number }
  | { type: 'close'; seq: number };

export type FromChild =
  | { type: 'ready'; seq: number; info?: ServerInfo }
  | { type: 'result'; seq: number; result: RunResult }
  | { type: 'count'; seq: number; calls: number; cpuUs?: number }
  | { type: 'closed'; seq: number }
  | { type: 'picks'; seq: number; report: PicksReport }
  | { type: 'sample'; seq: number; sample: MemorySample }
  | { type: 'error'; seq: number; message: string };
