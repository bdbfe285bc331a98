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
  /** etcd modes: the discovery backend (instead of seeds). */
  etcd?: { url: string; prefix: string };
  /**
   * Subset mode: nodes connect on demand (`connections: 'on-demand'`, groups through etcd) and
   * each caller's balancer keeps a deterministic subset of at least this many workers.
   */
  minAperture?: number;
}

export type ScaleToChild =
  | { type: 'status'; seq: number }
  | { type: 'idle'; seq: number; ms: number }
  | { type: 'load'; seq: number; ratePerSec: number; algorithm: string }
  | { type: 'counts'; seq: number }
  | { type: 'gone'; seq: number; names: string[]; timeoutMs: number }
  | { type: 'subset'; seq: number }
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
  /** `windowAt`: when none of them was left in the caller's subset window (subset mode). */
  | { type: 'gone'; seq: number; at: number; windowAt: number | null }
  /** The workers in the caller's subset window (`null`: no subset). */
  | { type: 'subset'; seq: number; window: string[] | null };

/** A reply without its sequence number (the child's IPC adds it). */
export type ScaleReply = ScaleFromChild extends infer T
  ? T extends { seq: number }
    ? Omit<T, 'seq'>
    : never
  : never;
