/**
 * A model of the full mesh at 100, 1 000 and 10 000 nodes: connections, heartbeat messages,
 * membership messages per join and leave, idle CPU, for seeds and for etcd discovery. Pure
 * computation from the protocol's rules, calibrated with the idle CPU that `npm run bench:scale`
 * measured (bench/results/scale.json). Subsetting is not implemented, so it is not modelled.
 *
 *   npm run bench:scale-model                  the table, calibrated from bench/results/scale.json
 *   npm run bench:scale-model -- --heartbeat=3000 --per-message-us=20 --nodes=100,1000,10000
 *
 * The rules it counts (docs/explanation/membership.md):
 * - every pair of nodes holds one connection; each side PINGs on it every ping interval
 *   (`pingIntervalMs`: a tenth of `heartbeatTimeoutMs`, at least 20 ms), whatever else it sent;
 * - a connection's set-up is 5 handshake frames (HELLO ×2, AUTH ×2, WELCOME), then a PeerList
 *   and a GroupSync each way; a PeerList lists the sender's other ready peers;
 * - a group join or leave sends one GroupDelta to every ready connection; a graceful close sends
 *   a GOODBYE on each and gets one back; a crash sends nothing, and every peer re-dials the lost
 *   node with backoff (100 ms doubling to 5 s, jittered to 50–100 %) for 60 s;
 * - with etcd, each node also puts its entry under a lease of ⌈heartbeatTimeoutMs / 1 s⌉, keeps
 *   it alive every third of the TTL, and every node's watch gets each put and delete.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { leaseTtlSeconds } from '../src/discovery/etcd.js';
import { pingIntervalMs } from '../src/transport/heartbeat.js';
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
 * Idle CPU of a node with a handful of connections, % of a core: a 4-node mesh measured by
 * `npm run bench:scale -- --nodes=4 --callers=1 --kill=1 --idle=8 --settle=15 --modes=mesh`
 * (0.65 %; a bare Node.js process with one 100 ms timer uses 0.33 % on the same machine).
 */
export const BASE_IDLE_PCT = 0.65;

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
  v >= 100 ? Math.round(v).toLocaleString('en-US') : v >= 10 ? v.toFixed(1) : v.toFixed(2);

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

function main(argv: string[]): void {
  let heartbeatTimeoutMs = 3_000;
  let perMessageUs: number | undefined;
  let sizes = [100, 1_000, 10_000];
  for (const arg of argv) {
    const [k = '', v = ''] = arg.split('=');
    if (k === '--heartbeat') heartbeatTimeoutMs = Number(v);
    else if (k === '--per-message-us') perMessageUs = Number(v);
    else if (k === '--nodes') sizes = v.split(',').map(Number);
    else throw new Error(`unknown option ${arg} (see the header of bench/scale-model.ts)`);
  }
  const measured = measuredCalibration();
  const us = perMessageUs ?? measured?.perMessageUs;
  if (us === undefined) throw new Error('no bench/results/scale.json: give --per-message-us=N');
  console.log(
    `CPU per heartbeat message: ${us.toFixed(1)} µs (${perMessageUs !== undefined ? 'given' : `calibrated from ${measured?.from}`}); base ${BASE_IDLE_PCT} % per node\n`,
  );
  const rows = sizes.map((nodes) =>
    model({ nodes, heartbeatTimeoutMs, perMessageUs: us, groupsPerNode: 1 }),
  );
  console.log(renderModel(rows, heartbeatTimeoutMs));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2));
}
