/** IPC between the scale benchmark (bench/scale.ts) and its node processes (bench/scale-child.ts). */

/** The group the workers join and the callers balance over. */
export const GROUP = 'work';

/** How one node process is started (its only argument, as JSON). */
export interface ScaleChildSpec {
  name: string;
  role: 'worker' | 'caller';
  /** Processes in the cluster, this one included: a complete view has `nodes - 1` peers. */
  nodes: number;
  /** Workers in the group: a complete view has them all. */
  workers: number;
  heartbeatTimeoutMs: number;
  /** Full-mesh mode: the seeds to dial. */
  seeds: string[];
  /** etcd mode: the discovery backend (instead of seeds). */
  etcd?: { url: string; prefix: string };
}

export type ScaleToChild =
  | { type: 'status'; seq: number }
  | { type: 'idle'; seq: number; ms: number }
  | { type: 'load'; seq: number; ratePerSec: number; algorithm: string }
  | { type: 'counts'; seq: number }
  | { type: 'gone'; seq: number; names: string[]; timeoutMs: number }
  | { type: 'close'; seq: number };

export type ScaleFromChild =
  | { type: 'ready'; seq: number; address: string; at: number }
  | { type: 'status'; seq: number; convergedAt: number | null; peers: number; members: number }
  | {
      type: 'idle';
      seq: number;
      cpuPct: number;
      rss: number;
      heapUsed: number;
      sockets: number;
      peers: number;
    }
  | { type: 'ok'; seq: number }
  | { type: 'counts'; seq: number; served: number; calls: number; failures: number }
  | { type: 'gone'; seq: number; at: number };

/** A reply without its sequence number (the child's IPC adds it). */
export type ScaleReply = ScaleFromChild extends infer T
  ? T extends { seq: number }
    ? Omit<T, 'seq'>
    : never
  : never;
