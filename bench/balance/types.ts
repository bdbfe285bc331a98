/** Messages and shared shapes of `npm run bench:balance` (orchestrator ⇄ workers and callers). */
import type { Behaviour } from './model.js';

/** The systems compared; each has its own worker and caller processes. */
export const FAMILIES = ['rpclb', 'moleculer', 'nats'] as const;
export type Family = (typeof FAMILIES)[number];

export const FAMILY_LABELS: Record<Family, string> = {
  rpclb: 'rpc-load-balancer',
  moleculer: 'Moleculer',
  nats: 'NATS',
};

/** One balancing policy under test: an rpc-load-balancer algorithm, a Moleculer strategy, ... */
export interface Contender {
  /** `family:label`, unique. */
  id: string;
  family: Family;
  /** Short name in tables: the algorithm's export name (plus a variant suffix), the strategy. */
  label: string;
  /** rpc-load-balancer: the export of `algorithms` to use. */
  algorithm?: string;
  /** rpc-load-balancer: `algorithmOpts` (JSON). */
  algorithmOpts?: Record<string, unknown>;
  /** rpc-load-balancer: further `startLoadBalancer` options (JSON), e.g. outlier ejection. */
  balancerOpts?: Record<string, unknown>;
  /** rpc-load-balancer: give every call a distinct `key` (for key-aware algorithms). */
  keyed?: boolean;
  /** Moleculer: the registry strategy. */
  strategy?: string;
}

/** Where a worker listens, as the callers need it. */
export interface WorkerInfo {
  slot: number;
  gen: number;
  /** Node name (rpc-load-balancer), node ID (Moleculer), or a label (NATS). */
  name: string;
  /** `host:port` (rpc-load-balancer, Moleculer's TCP transporter); '' for NATS. */
  address: string;
  pid: number;
}

/** Where a caller listens (new workers are pointed at the callers to join the cluster). */
export interface CallerInfo {
  /** `host:port` of the caller's node (rpc-load-balancer), or Moleculer URLs `host:port/nodeID`. */
  addresses: string[];
}

/** What a worker process is given on its command line (JSON). */
export interface WorkerConfig {
  /** rpc-load-balancer seeds / Moleculer static URLs to join through. */
  join: string[];
  /** NATS server URL. */
  natsUrl?: string;
  /** The service model from the first call on (a replacement worker serves as soon as it joins). */
  behaviour: Behaviour;
}

/** One measurement as a caller runs it. */
export interface LoadSpec {
  /** Poisson arrival rate of this caller, calls per second. */
  ratePerSec: number;
  /** Unrecorded calls at the same rate before the measured window. */
  warmupMs: number;
  durationMs: number;
  /** Per-call timeout (every system gets the same). */
  timeoutMs: number;
  seed: number;
}

/** Error kinds, as the caller classifies them. */
export interface ErrorCounts {
  /** The worker's handler failed the call (the fast-failure scenario). */
  failed: number;
  /** No reply within the timeout. */
  timeout: number;
  /** Refused or lost: no member, connection lost, node gone. */
  unavailable: number;
  other: number;
}

/** What one caller measured in the window (calls issued after the warm-up). */
export interface CallerResult {
  /** Calls sent in warm-up and window. */
  sent: number;
  /** Calls sent in the window. */
  issued: number;
  ok: number;
  errors: ErrorCounts;
  /** Latency (ms) of every successful call, from its sending to its reply. */
  latenciesMs: number[];
  /** Replies (successful or failed by the handler) per worker slot. */
  perSlot: number[];
  /** How late calls were sent after their scheduled arrival (ms): p99 and max. */
  lagMs: { p99: number; max: number };
  /** First error message of each kind, for the log. */
  samples: string[];
  /** CPU time (user + system) this caller process used over warm-up and window (µs). */
  cpuUs: number;
}

export type ToWorker =
  | { type: 'reset'; seq: number; behaviour: Behaviour }
  | { type: 'degrade'; seq: number; factor: number }
  | { type: 'stats'; seq: number }
  | { type: 'close'; seq: number };

export type FromWorker =
  | { type: 'ready'; seq: number; info: WorkerInfo }
  | { type: 'ok'; seq: number }
  | { type: 'stats'; seq: number; served: number; failed: number; maxInSystem: number }
  | { type: 'closed'; seq: number }
  | { type: 'error'; seq: number; message: string };

export type ToCaller =
  | { type: 'init'; seq: number; workers: WorkerInfo[]; natsUrl?: string; strategies: string[] }
  | { type: 'prepare'; seq: number; contender: Contender; expect: WorkerInfo[] }
  | { type: 'run'; seq: number; spec: LoadSpec; keyed: boolean }
  | { type: 'close'; seq: number };

export type FromCaller =
  | { type: 'ready'; seq: number; info?: CallerInfo }
  | { type: 'prepared'; seq: number; waitedMs: number }
  | { type: 'result'; seq: number; result: CallerResult }
  | { type: 'closed'; seq: number }
  | { type: 'error'; seq: number; message: string };

/** A system's side of a worker: serves `Work.serve` with `handle`, until closed. */
export interface WorkerServer {
  info: Omit<WorkerInfo, 'slot' | 'gen' | 'pid'>;
  close(): Promise<void>;
}

/**
 * The worker's handler, shared by every system: resolves with the worker's slot when the call's
 * modelled service ends, or throws `fail w<slot>` at once for a failing call.
 */
export type Handle = () => number | Promise<number>;

/** A system's side of a caller. */
export interface CallerClient {
  info: CallerInfo;
  /** Switches to `contender` and waits until it sees exactly the `expect`ed workers. */
  prepare(contender: Contender, expect: WorkerInfo[]): Promise<void>;
  /** One call through the system's balancing; resolves with the serving worker's slot. */
  call(i: number, timeoutMs: number, keyed: boolean): Promise<number>;
  close(): Promise<void>;
}

/** The message a failing worker throws; the caller reads the slot back from it. */
export const failMessage = (slot: number) => `fail w${slot}`;
export const FAIL_PATTERN = /fail w(\d+)/;
