/**
 * A model of cluster scale at 100, 1 000 and 10 000 nodes: connections, heartbeat messages,
 * membership messages per join and leave, idle CPU, for two shapes side by side. Pure
 * computation from the protocol's rules, calibrated with the idle CPU that `npm run bench:scale`
 * measured (bench/results/scale.json).
 *
 *   npm run bench:scale-model                  both tables, calibrated from bench/results/scale.json
 *   npm run bench:scale-model -- --heartbeat=3000 --per-message-us=20 --nodes=100,1000,10000
 *                                 --callers=0.1 --min-aperture=12   (the on-demand table's shape)
 *
 * The full mesh ({@link model}; seeds or etcd discovery), as the rules go
 * (docs/explanation/membership.md):
 * - every pair of nodes holds one connection; each side PINGs on it every ping interval
 *   (`pingIntervalMs`: a fifth of `heartbeatTimeoutMs`, at least 20 ms), whatever else it sent;
 * - a connection's set-up is 5 handshake frames (HELLO ×2, AUTH ×2, WELCOME), then a PeerList
 *   and a GroupSync each way; a PeerList lists the sender's other ready peers;
 * - a group join or leave sends one GroupDelta to every ready connection; a graceful close sends
 *   a GOODBYE on each and gets one back; a crash sends nothing, and every peer re-dials the lost
 *   node with backoff (100 ms doubling to 5 s, jittered to 50–100 %) for 60 s;
 * - with etcd, each node also puts its entry under a lease of ⌈heartbeatTimeoutMs / 1 s⌉, keeps
 *   it alive every third of the TTL, and every node's watch gets each put and delete.
 *
 * `connections: 'on-demand'` with etcd and balancer subsetting ({@link onDemandModel}), a share
 * of the nodes callers (`--callers`, 10 % as in the scale run) and the rest workers:
 * - each caller's balancer keeps a deterministic aperture (bench/lib/aperture.ts): a window of
 *   max(minAperture / M, 1 / C) of a ring of the M workers, C callers spread evenly on it; it
 *   dials the workers of its window as it calls them, so once it has called each, it holds one
 *   connection per worker whose arc the window overlaps (⌈w·M⌉, one more when the window's ends
 *   fall inside arcs); a worker holds one per caller whose window overlaps its arc; callers
 *   are not connected to each other, nor workers;
 * - no peer exchange: a connection's set-up is the same 9 frames (the PeerList is still sent,
 *   and ignored); a worker that starts sends nothing until a caller calls it;
 * - groups of nodes a node is not connected to come from etcd, which carries them in each
 *   node's entry: a start, a stop and a group change are each one put or delete, one watch
 *   event at every node; a group change also sends a GroupDelta on the node's own connections;
 * - a crash is seen at once by the nodes connected to the lost one (the socket closes), which
 *   re-dial it for 60 s as in the mesh (transport.ts `#down`, redialer.ts); the others see it
 *   when its lease expires (within the TTL) and never dial it meanwhile.
 * Idle CPU is the same base plus the same cost per heartbeat message as the mesh's; the CPU of
 * the connection to etcd and of its keepalives is left out of both.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { leaseTtlSeconds } from '../src/discovery/etcd.js';
import { pingIntervalMs } from '../src/transport/heartbeat.js';
import { aperture, type Spread3, spread3 } from './lib/aperture.js';
import { ROOT } from './lib/machine.js';
import type { ScaleResults } from './lib/scale-report.js';

/** Frames to set up one connection: HELLO ×2, AUTH ×2, WELCOME, PeerList ×2, GroupSync ×2. */
export const FRAMES_PER_CONNECTION = 9;
/** How long a peer re-dials a node lost without goodbye, and its backoff. */
export const REDIAL_WINDOW_MS = 60_000;
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5_000;
/** Mean jitter factor of a backoff delay (uniform in 50–100 %). */
const MEAN_JITTER = 0.75;
/**
 * Idle CPU of a node with one or two connections, % of a core: the median of the on-demand
 * workers in `npm run bench:scale` (0.23 %, after a 30 s rest; the earlier base, 0.65 %, was a
 * 4-node mesh measured 15 s after start-up, before the heartbeats and the load sampling got
 * cheaper, and left almost nothing of a 100-node mesh's idle CPU to its heartbeats).
 */
export const BASE_IDLE_PCT = 0.23;

export interface ModelParams {
  nodes: number;
  heartbeatTimeoutMs: number;
  /** CPU per heartbeat message handled (sent or received), µs. */
  perMessageUs: number;
  /** Groups each node is in (each sends a GroupDelta on join and graceful leave). */
  groupsPerNode: number;
}

export interface ModelRow {
  nodes: number;
  connectionsPerNode: number;
  connectionsTotal: number;
  /** PINGs sent and received by one node per second. */
  heartbeatsPerNodePerS: number;
  /** PINGs sent in the whole cluster per second. */
  heartbeatsTotalPerS: number;
  idleCpuPctPerNode: number;
  /** Cores the whole cluster spends idle. */
  idleCores: number;
  /** Frames on the wire when one node starts and meshes, and the peer-list entries they carry. */
  joinFrames: number;
  joinPeerListEntries: number;
  /** Frames when a node joins (or leaves) one group. */
  groupChangeFrames: number;
  /** Frames of a graceful close: its group leaves, GOODBYE each way. */
  gracefulLeaveFrames: number;
  /** Connection attempts the survivors make to a crashed node. */
  crashRedials: number;
  /** etcd: watch events a join or a leave causes (one per watching node). */
  etcdEventsPerChange: number;
  /** etcd: lease keepalives the server receives per second. */
  etcdKeepalivesPerS: number;
}

/** Dial attempts in `windowMs` with the transport's backoff, at the mean jitter. */
export function redialsWithin(windowMs: number): number {
  let at = 0;
  let base = BACKOFF_MIN_MS;
  let attempts = 0;
  for (;;) {
    at += base * MEAN_JITTER;
    if (at > windowMs) return attempts;
    attempts++;
    base = Math.min(base * 2, BACKOFF_MAX_MS);
  }
}

/** The model's figures for one cluster size. */
export function model(p: ModelParams): ModelRow {
  const n = p.nodes;
  const interval = pingIntervalMs(p.heartbeatTimeoutMs, p.heartbeatTimeoutMs);
  const perNode = (2 * (n - 1) * 1_000) / interval;
  const idleCpuPctPerNode = BASE_IDLE_PCT + (perNode * p.perMessageUs) / 10_000;
  const ttlS = leaseTtlSeconds(p.heartbeatTimeoutMs);
  return {
    nodes: n,
    connectionsPerNode: n - 1,
    connectionsTotal: (n * (n - 1)) / 2,
    heartbeatsPerNodePerS: perNode,
    heartbeatsTotalPerS: (n * (n - 1) * 1_000) / interval,
    idleCpuPctPerNode,
    idleCores: (n * idleCpuPctPerNode) / 100,
    joinFrames: FRAMES_PER_CONNECTION * (n - 1),
    joinPeerListEntries: 2 * (n - 1) * Math.max(0, n - 2),
    groupChangeFrames: n - 1,
    gracefulLeaveFrames: (p.groupsPerNode + 2) * (n - 1),
    crashRedials: (n - 1) * redialsWithin(REDIAL_WINDOW_MS),
    etcdEventsPerChange: n,
    etcdKeepalivesPerS: n / (ttlS / 3),
  };
}

/**
 * CPU per heartbeat message, µs, from a measured mesh: the idle CPU above {@link BASE_IDLE_PCT}
 * divided by the PINGs a node sent and received per second.
 */
export function calibrate(idlePct: number, nodes: number, heartbeatTimeoutMs: number): number {
  const interval = pingIntervalMs(heartbeatTimeoutMs, heartbeatTimeoutMs);
  const perNode = (2 * (nodes - 1) * 1_000) / interval;
  return (Math.max(0, idlePct - BASE_IDLE_PCT) * 10_000) / perNode;
}

const fmt = (v: number) =>
  Number.isInteger(v) || v >= 100
    ? Math.round(v).toLocaleString('en-US')
    : v >= 10
      ? v.toFixed(1)
      : v.toFixed(2);

/** The model as a Markdown table, one column per size. */
export function renderModel(rows: ModelRow[], heartbeatTimeoutMs: number): string {
  const line = (label: string, cell: (r: ModelRow) => string) =>
    `| ${label} | ${rows.map(cell).join(' | ')} |`;
  const ping = pingIntervalMs(heartbeatTimeoutMs, heartbeatTimeoutMs);
  return [
    `| full mesh, \`heartbeatTimeoutMs\` ${heartbeatTimeoutMs} (ping every ${ping} ms) | ${rows.map((r) => `${r.nodes.toLocaleString('en-US')} nodes`).join(' | ')} |`,
    `|---|${rows.map(() => '---:').join('|')}|`,
    line('connections per node', (r) => fmt(r.connectionsPerNode)),
    line('connections in all', (r) => fmt(r.connectionsTotal)),
    line('heartbeats per node per s (sent + received)', (r) => fmt(r.heartbeatsPerNodePerS)),
    line('heartbeats per s in all', (r) => fmt(r.heartbeatsTotalPerS)),
    line('idle CPU per node, % of a core (model)', (r) => fmt(r.idleCpuPctPerNode)),
    line('idle CPU of the cluster, cores (model)', (r) => fmt(r.idleCores)),
    line('a node starts: frames (both modes)', (r) => fmt(r.joinFrames)),
    line('a node starts: peer-list entries carried', (r) => fmt(r.joinPeerListEntries)),
    line('a group join or leave: frames', (r) => fmt(r.groupChangeFrames)),
    line('a graceful close (one group): frames', (r) => fmt(r.gracefulLeaveFrames)),
    line('a crash: re-dials by the survivors over 60 s', (r) => fmt(r.crashRedials)),
    line('etcd: watch events per node start or stop', (r) => fmt(r.etcdEventsPerChange)),
    line('etcd: lease keepalives per s at the server', (r) => fmt(r.etcdKeepalivesPerS)),
  ].join('\n');
}

/** The calibration from bench/results/scale.json's mesh mode, if it has one. */
export function measuredCalibration(): { perMessageUs: number; from: string } | undefined {
  const file = new URL('bench/results/scale.json', ROOT);
  if (!existsSync(file)) return undefined;
  const r = JSON.parse(readFileSync(file, 'utf8')) as ScaleResults;
  const mesh = r.modes.find((m) => m.mode === 'mesh' && !('skipped' in m));
  if (!mesh || 'skipped' in mesh) return undefined;
  const { nodes, heartbeatTimeoutMs } = r.options;
  const idle = mesh.idleCpuPct.median;
  return {
    perMessageUs: calibrate(idle, nodes, heartbeatTimeoutMs),
    from: `${nodes} processes, heartbeatTimeoutMs ${heartbeatTimeoutMs}: median idle ${idle.toFixed(2)} %`,
  };
}

/** The on-demand model's parameters: the mesh's, and who calls whom. */
export interface OnDemandParams extends ModelParams {
  /** Share of the nodes that are callers (the rest are workers, the group's members). */
  callerShare: number;
  /** The balancer's minimum aperture: members a caller keeps at least. */
  minAperture: number;
}

/** The on-demand model's figures for one cluster size; per-node figures as mean, min, max. */
export interface OnDemandRow {
  nodes: number;
  callers: number;
  workers: number;
  /** Each caller's window, as a fraction of the ring. */
  apertureWidth: number;
  connectionsPerCaller: Spread3;
  connectionsPerWorker: Spread3;
  connectionsTotal: number;
  /**
   * Calls of the busiest worker over the mean when each caller spreads its calls evenly over
   * its window (1: even; workers in more windows get more callers).
   */
  loadMaxOverMean: number;
  /** The same with the balancer's coverage weights (what `subset` does). */
  weightedLoadMaxOverMean: number;
  /** PINGs sent and received per second. */
  heartbeatsPerCallerPerS: Spread3;
  heartbeatsPerWorkerPerS: Spread3;
  heartbeatsTotalPerS: number;
  idleCpuPctPerCaller: Spread3;
  idleCpuPctPerWorker: Spread3;
  idleCores: number;
  /** Frames when a caller starts (handshakes with its window), and the peer-list entries. */
  callerStartFrames: number;
  callerStartPeerListEntries: number;
  /** Frames when a worker starts: none until a caller calls it. */
  workerStartFrames: number;
  /** GroupDeltas of one group join or leave, on the node's own connections. */
  callerGroupChangeFrames: number;
  workerGroupChangeFrames: number;
  callerGracefulLeaveFrames: number;
  workerGracefulLeaveFrames: number;
  /** Re-dials by the nodes connected to a crashed node (they see it at once). */
  callerCrashRedials: number;
  workerCrashRedials: number;
  /** Lease TTL, s: when the nodes not connected to a crashed node see it. */
  leaseTtlS: number;
  /** etcd: watch events per registration change (start, stop, group change). */
  etcdEventsPerChange: number;
  etcdKeepalivesPerS: number;
}

const scale3 = (s: Spread3, f: (v: number) => number): Spread3 => ({
  mean: f(s.mean),
  min: f(s.min),
  max: f(s.max),
});
const sum = (values: number[], f: (v: number) => number) => values.reduce((a, v) => a + f(v), 0);

/**
 * The figures of `connections: 'on-demand'` with etcd and deterministic-aperture subsetting:
 * callers connect only to the members of their window ({@link aperture}), workers to no one.
 */
export function onDemandModel(p: OnDemandParams): OnDemandRow {
  const n = p.nodes;
  const callers = Math.min(Math.max(1, Math.round(n * p.callerShare)), n - 1);
  const workers = n - callers;
  const ring = aperture(callers, workers, p.minAperture);
  const interval = pingIntervalMs(p.heartbeatTimeoutMs, p.heartbeatTimeoutMs);
  const perS = (k: number) => (2 * k * 1_000) / interval;
  const cpu = (k: number) => BASE_IDLE_PCT + (perS(k) * p.perMessageUs) / 10_000;
  const perCaller = spread3(ring.perCaller);
  const perWorker = spread3(ring.perMember);
  const total = sum(ring.perCaller, (k) => k);
  const load = spread3(ring.loadPerMember);
  const weighted = spread3(ring.weightedLoadPerMember);
  const redials = redialsWithin(REDIAL_WINDOW_MS);
  const ttlS = leaseTtlSeconds(p.heartbeatTimeoutMs);
  const listed = (k: number) => k * (k - 1);
  return {
    nodes: n,
    callers,
    workers,
    apertureWidth: ring.width,
    connectionsPerCaller: perCaller,
    connectionsPerWorker: perWorker,
    connectionsTotal: total,
    loadMaxOverMean: load.max / load.mean,
    weightedLoadMaxOverMean: weighted.max / weighted.mean,
    heartbeatsPerCallerPerS: scale3(perCaller, perS),
    heartbeatsPerWorkerPerS: scale3(perWorker, perS),
    heartbeatsTotalPerS: perS(total),
    idleCpuPctPerCaller: scale3(perCaller, cpu),
    idleCpuPctPerWorker: scale3(perWorker, cpu),
    idleCores: (sum(ring.perCaller, cpu) + sum(ring.perMember, cpu)) / 100,
    callerStartFrames: FRAMES_PER_CONNECTION * perCaller.mean,
    // Its list to each window member names its other peers; each member's, its other callers.
    callerStartPeerListEntries:
      (sum(ring.perCaller, listed) + sum(ring.perMember, listed)) / callers,
    workerStartFrames: 0,
    callerGroupChangeFrames: perCaller.mean,
    workerGroupChangeFrames: perWorker.mean,
    callerGracefulLeaveFrames: (p.groupsPerNode + 2) * perCaller.mean,
    workerGracefulLeaveFrames: (p.groupsPerNode + 2) * perWorker.mean,
    callerCrashRedials: perCaller.mean * redials,
    workerCrashRedials: perWorker.mean * redials,
    leaseTtlS: ttlS,
    etcdEventsPerChange: n,
    etcdKeepalivesPerS: n / (ttlS / 3),
  };
}

/** `mean (min–max)`, or one figure when they are equal. */
const fmt3 = (s: Spread3) =>
  s.min === s.max ? fmt(s.mean) : `${fmt(s.mean)} (${fmt(s.min)}–${fmt(s.max)})`;

/** The on-demand model as a Markdown table, one column per size. */
export function renderOnDemandModel(rows: OnDemandRow[], p: OnDemandParams): string {
  const line = (label: string, cell: (r: OnDemandRow) => string) =>
    `| ${label} | ${rows.map(cell).join(' | ')} |`;
  const ping = pingIntervalMs(p.heartbeatTimeoutMs, p.heartbeatTimeoutMs);
  const pct = Math.round(p.callerShare * 100);
  return [
    `| on demand + aperture ${p.minAperture}, etcd, ${pct} % callers (ping every ${ping} ms); mean (min–max) | ${rows.map((r) => `${r.nodes.toLocaleString('en-US')} nodes`).join(' | ')} |`,
    `|---|${rows.map(() => '---:').join('|')}|`,
    line('callers / workers', (r) => `${fmt(r.callers)} / ${fmt(r.workers)}`),
    line('window per caller, share of the workers', (r) => `${fmt(r.apertureWidth * 100)} %`),
    line('connections per caller', (r) => fmt3(r.connectionsPerCaller)),
    line('connections per worker', (r) => fmt3(r.connectionsPerWorker)),
    line('connections in all', (r) => fmt(r.connectionsTotal)),
    line('load max/mean with the coverage weights of `subset`', (r) =>
      fmt(r.weightedLoadMaxOverMean),
    ),
    line('load max/mean if each caller spread evenly over its window', (r) =>
      fmt(r.loadMaxOverMean),
    ),
    line('heartbeats per caller per s (sent + received)', (r) => fmt3(r.heartbeatsPerCallerPerS)),
    line('heartbeats per worker per s (sent + received)', (r) => fmt3(r.heartbeatsPerWorkerPerS)),
    line('heartbeats per s in all', (r) => fmt(r.heartbeatsTotalPerS)),
    line('idle CPU per caller, % of a core (model)', (r) => fmt3(r.idleCpuPctPerCaller)),
    line('idle CPU per worker, % of a core (model)', (r) => fmt3(r.idleCpuPctPerWorker)),
    line('idle CPU of the cluster, cores (model)', (r) => fmt(r.idleCores)),
    line('a caller starts: frames (handshakes with its window)', (r) => fmt(r.callerStartFrames)),
    line('a caller starts: peer-list entries carried', (r) => fmt(r.callerStartPeerListEntries)),
    line('a worker starts: frames (until a caller calls it)', (r) => fmt(r.workerStartFrames)),
    line('a group join or leave: frames, caller / worker', (r) =>
      [r.callerGroupChangeFrames, r.workerGroupChangeFrames].map(fmt).join(' / '),
    ),
    line('a graceful close (one group): frames, caller / worker', (r) =>
      [r.callerGracefulLeaveFrames, r.workerGracefulLeaveFrames].map(fmt).join(' / '),
    ),
    line(`a crash: re-dials over ${REDIAL_WINDOW_MS / 1_000} s, caller / worker lost`, (r) =>
      [r.callerCrashRedials, r.workerCrashRedials].map(fmt).join(' / '),
    ),
    line('a crash: nodes that see it at once (its connections), caller / worker lost', (r) =>
      [r.connectionsPerCaller.mean, r.connectionsPerWorker.mean].map(fmt).join(' / '),
    ),
    line('a crash: the other nodes see it at lease expiry, within', (r) => `${r.leaseTtlS} s`),
    line('etcd: watch events per start, stop or group change', (r) => fmt(r.etcdEventsPerChange)),
    line('etcd: lease keepalives per s at the server', (r) => fmt(r.etcdKeepalivesPerS)),
  ].join('\n');
}

function main(argv: string[]): void {
  let heartbeatTimeoutMs = 3_000;
  let perMessageUs: number | undefined;
  let sizes = [100, 1_000, 10_000];
  let callerShare = 0.1;
  let minAperture = 12;
  for (const arg of argv) {
    const [k = '', v = ''] = arg.split('=');
    if (k === '--heartbeat') heartbeatTimeoutMs = Number(v);
    else if (k === '--per-message-us') perMessageUs = Number(v);
    else if (k === '--nodes') sizes = v.split(',').map(Number);
    else if (k === '--callers') callerShare = Number(v);
    else if (k === '--min-aperture') minAperture = Number(v);
    else throw new Error(`unknown option ${arg} (see the header of bench/scale-model.ts)`);
  }
  if (!(callerShare > 0 && callerShare < 1)) throw new Error('--callers must be between 0 and 1');
  if (!(Number.isInteger(minAperture) && minAperture > 0))
    throw new Error('--min-aperture must be a positive integer');
  const measured = measuredCalibration();
  const us = perMessageUs ?? measured?.perMessageUs;
  if (us === undefined) throw new Error('no bench/results/scale.json: give --per-message-us=N');
  console.log(
    `CPU per heartbeat message: ${us.toFixed(1)} µs (${perMessageUs !== undefined ? 'given' : `calibrated from ${measured?.from}`}); base ${BASE_IDLE_PCT} % per node\n`,
  );
  const base = { heartbeatTimeoutMs, perMessageUs: us, groupsPerNode: 1 };
  console.log(
    renderModel(
      sizes.map((nodes) => model({ ...base, nodes })),
      heartbeatTimeoutMs,
    ),
  );
  const p = { ...base, nodes: 0, callerShare, minAperture };
  const rows = sizes.map((nodes) => onDemandModel({ ...p, nodes }));
  console.log(`\n${renderOnDemandModel(rows, p)}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2));
}
