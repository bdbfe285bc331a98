/**
 * Scale benchmark: a hundred node processes on one machine, in three modes: a full mesh from
 * seeds, a full mesh through etcd discovery, and on demand with subsetting (`connections:
 * 'on-demand'`, etcd carrying the groups, each caller's balancer on `subset`).
 *
 *   npm run bench:scale                       100 processes (90 workers, 10 callers), all modes
 *   npm run bench:scale -- --nodes=30 --no-docs   a quick run
 *
 * Per mode: time from the last process listening to every node's view being complete (mesh:
 * all N−1 peers and every worker in the group `work`; on demand: every worker in the group and,
 * for a caller, every caller in its subset); after a 3 s warm-up of calls, the CPU of each idle
 * node over `--idle` seconds, its RSS and heap; the calls each worker served under a steady rate
 * per caller (max/mean), one window per algorithm; sockets per caller and per worker; after a
 * SIGKILL of `--kill` workers, how long until no caller's subset window holds them and until no
 * caller's balancer has them. Results: bench/results/scale.json, the "Scale" section of
 * docs/benchmarks.md (bench/lib/scale-report.ts) and docs/benchmarks-scale.svg (scale-chart.ts).
 *
 * Options: --nodes=N (100)  --callers=N (10)  --kill=N (10)  --idle=S (10)  --settle=S (5, before the warm-up)
 *          --rest=S (30, after the warm-up, before idle: the after-effects of start-up and load pass)
 *          --rate=N (calls/s per caller, 20)  --load=S (5, per algorithm)  --heartbeat=MS (heartbeatTimeoutMs, 3000)
 *          --min-aperture=N (12)  --subset-rate=N (100)  --subset-load=S (10): the subset mode's spread windows
 *          --modes=mesh,etcd,etcd-subset  --algorithms=LeastLoaded,RoundRobin,LeastConnections  --no-docs
 *          --report-only (no run: re-renders the docs and chart from bench/results/scale.json)
 * Every process (nodes, etcd) is killed by pid on exit, error, SIGINT/SIGTERM and after 5 min per mode.
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { checkIntervalMs, pingIntervalMs } from '../src/transport/heartbeat.js';
import { ETCD_BINARY, startEtcd } from './lib/etcd.js';
import { machineInfo, ROOT } from './lib/machine.js';
import { formatJson } from './lib/output.js';
import { Child, installCleanup, killAll, trackPid, untrackPid } from './lib/procs.js';
import type { ScaleChildSpec, ScaleFromChild, ScaleToChild } from './lib/scale-protocol.js';
import {
  type ModeResult,
  type ScaleMode,
  type ScaleOptions,
  type ScaleResults,
  spread,
  stats,
  writeScaleDocs,
} from './lib/scale-report.js';
import { percentile } from './lib/stats.js';

const CHILD = fileURLToPath(new URL('./scale-child.js', import.meta.url));
/** Small heaps and one helper thread: a hundred processes share two cores. */
const CHILD_ARGV = ['--max-old-space-size=64', '--max-semi-space-size=1', '--v8-pool-size=1'];
const BATCH = 10;
/** The whole run's bound, and the time a mode needs at least to be started. */
/** Each mode's share of the run's bound (the whole run gets this times the number of modes). */
const MODE_DEADLINE_MS = 5 * 60_000;
const MODE_BUDGET_MS = 110_000;
const MiB = 2 ** 20;
type Node = Child<ScaleToChild, ScaleFromChild>;
type Log = (line: string) => void;

function parseArgs(argv: string[]): ScaleOptions {
  const o: ScaleOptions = {
    nodes: 100,
    callers: 10,
    kill: 10,
    idleS: 10,
    settleS: 5,
    restS: 30,
    convergeS: 60,
    loadS: 5,
    rate: 20,
    heartbeatTimeoutMs: 3_000,
    minAperture: 12,
    subsetRate: 100,
    subsetLoadS: 10,
    modes: ['mesh', 'etcd', 'etcd-subset'],
    algorithms: ['LeastLoaded', 'RoundRobin', 'LeastConnections'],
    writeDocs: true,
  };
  const int = (k: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${k} must be a positive integer: "${v}"`);
    return n;
  };
  for (const arg of argv) {
    const [k = '', v = ''] = arg.split('=');
    if (k === '--nodes') o.nodes = int(k, v);
    else if (k === '--callers') o.callers = int(k, v);
    else if (k === '--kill') o.kill = int(k, v);
    else if (k === '--idle') o.idleS = int(k, v);
    else if (k === '--settle') o.settleS = int(k, v);
    else if (k === '--rest') o.restS = int(k, v);
    else if (k === '--converge') o.convergeS = int(k, v);
    else if (k === '--load') o.loadS = int(k, v);
    else if (k === '--rate') o.rate = int(k, v);
    else if (k === '--heartbeat') o.heartbeatTimeoutMs = int(k, v);
    else if (k === '--min-aperture') o.minAperture = int(k, v);
    else if (k === '--subset-rate') o.subsetRate = int(k, v);
    else if (k === '--subset-load') o.subsetLoadS = int(k, v);
    else if (k === '--modes') o.modes = v.split(',') as ScaleOptions['modes'];
    else if (k === '--algorithms') o.algorithms = v.split(',');
    else if (k === '--no-docs') o.writeDocs = false;
    else throw new Error(`unknown option ${arg} (see the header of bench/scale.ts)`);
  }
  if (o.callers + o.kill >= o.nodes) throw new Error('--nodes must exceed --callers + --kill');
  return o;
}

async function ask<T extends ScaleFromChild['type']>(
  node: Node,
  msg: Parameters<Node['request']>[0],
  type: T,
  timeoutMs = 30_000,
): Promise<Extract<ScaleFromChild, { type: T }>> {
  const reply = await node.request(msg, timeoutMs);
  if (reply.type !== type) throw new Error(`${node.label}: expected ${type}, got ${reply.type}`);
  return reply as Extract<ScaleFromChild, { type: T }>;
}

/** Starts every node in batches; returns them with the first spawn and last listen times. */
async function startNodes(
  o: ScaleOptions,
  etcd: ScaleChildSpec['etcd'],
  minAperture: number | undefined,
  log: Log,
) {
  const workers = o.nodes - o.callers;
  const spec = (i: number, seeds: string[]): ScaleChildSpec => {
    const caller = i >= workers;
    const name = caller ? `c${i - workers}` : `w${i}`;
    return {
      name: `${name}@127.0.0.1`,
      role: caller ? 'caller' : 'worker',
      nodes: o.nodes,
      workers,
      heartbeatTimeoutMs: o.heartbeatTimeoutMs,
      seeds,
      ...(etcd ? { etcd } : {}),
      ...(minAperture !== undefined ? { minAperture } : {}),
    };
  };
  const nodes: Node[] = [];
  const readyAt: number[] = [];
  const firstSpawn = performance.timeOrigin + performance.now();
  let seeds: string[] = [];
  for (let from = 0; from < o.nodes; from += BATCH) {
    // The first node alone, then the others seeded with the first three nodes.
    const count = from === 0 ? 1 : Math.min(BATCH, o.nodes - from);
    const batch = Array.from({ length: count }, (_, k) => {
      const s = spec(from + k, seeds);
      return new Child<ScaleToChild, ScaleFromChild>(
        CHILD,
        [JSON.stringify(s)],
        s.name,
        {
          UV_THREADPOOL_SIZE: '1',
        },
        CHILD_ARGV,
      );
    });
    nodes.push(...batch);
    const ready = await Promise.all(batch.map((n) => n.first(60_000)));
    for (const r of ready) {
      if (r.type !== 'ready') throw new Error('a node did not start');
      readyAt.push(r.at);
      if (seeds.length < 3) seeds = [...seeds, r.address];
    }
    if (from === 0) from = 1 - BATCH;
  }
  const lastReady = Math.max(...readyAt);
  log(
    `${nodes.length} processes listening, ${((lastReady - firstSpawn) / 1000).toFixed(1)} s after the first spawn`,
  );
  return { nodes, startMs: lastReady - firstSpawn, lastReady };
}

/**
 * Polls every node until all report a complete view: the latest such moment, or (after
 * `timeoutMs`) how many nodes never had one.
 */
async function converged(
  nodes: Node[],
  timeoutMs: number,
): Promise<{ at: number } | { incomplete: number; example: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const st = await Promise.all(nodes.map((n) => ask(n, { type: 'status' }, 'status')));
    if (st.every((s) => s.convergedAt !== null))
      return { at: Math.max(...st.map((s) => s.convergedAt ?? 0)) };
    if (Date.now() > deadline) {
      const bad = st.filter((s) => s.convergedAt === null);
      const example = `${bad[0]?.peers} peers, ${bad[0]?.members} workers in the group`;
      return { incomplete: bad.length, example };
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Calls served per worker while the callers call with each algorithm in turn. */
async function measureSpreads(
  workers: Node[],
  callers: Node[],
  load: { rate: number; loadS: number; algorithms: string[] },
  log: Log,
) {
  const spreads: ModeResult['spreads'] = [];
  const counts = () => Promise.all(workers.map((w) => ask(w, { type: 'counts' }, 'counts')));
  for (const algorithm of load.algorithms) {
    const before = await counts();
    await Promise.all(
      callers.map((c) => ask(c, { type: 'load', ratePerSec: load.rate, algorithm }, 'ok')),
    );
    await new Promise((resolve) => setTimeout(resolve, load.loadS * 1000));
    const after = await counts();
    spreads.push({
      algorithm,
      ...spread(after.map((a, i) => a.served - (before[i]?.served ?? 0))),
    });
    log(`${algorithm}: max/mean ${spreads.at(-1)?.maxOverMean.toFixed(2)}`);
  }
  return spreads;
}

/** SIGKILLs the last `kill` workers (never a seed) while the callers call; until unselected. */
async function measureKill(workers: Node[], callers: Node[], o: ScaleOptions) {
  const victims = workers.slice(workers.length - o.kill);
  const names = victims.map((v) => v.label);
  const waits = callers.map((c) =>
    ask(c, { type: 'gone', names, timeoutMs: 30_000 }, 'gone', 40_000),
  );
  const killedAt = performance.timeOrigin + performance.now();
  for (const v of victims) if (v.proc.pid) process.kill(v.proc.pid, 'SIGKILL');
  const gone = await Promise.allSettled(waits);
  const goneMs = gone.flatMap((g) => (g.status === 'fulfilled' ? [g.value.at - killedAt] : []));
  const windowGoneMs = gone.flatMap((g) =>
    g.status === 'fulfilled' && g.value.windowAt !== null ? [g.value.windowAt - killedAt] : [],
  );
  return {
    killed: o.kill,
    goneMs: stats(goneMs),
    ...(windowGoneMs.length > 0 ? { windowGoneMs: stats(windowGoneMs) } : {}),
    callersTimedOut: gone.length - goneMs.length,
    boundMs: o.heartbeatTimeoutMs + checkIntervalMs(o.heartbeatTimeoutMs),
  };
}

/** Every node's idle CPU, memory and sockets over the same window. */
async function measureIdle(nodes: Node[], o: ScaleOptions) {
  const ms = o.idleS * 1000;
  return Promise.all(nodes.map((n) => ask(n, { type: 'idle', ms }, 'idle', ms + 30_000)));
}

/** Connections and subset windows once every caller has called (sockets read at once). */
async function measureConnections(workers: Node[], callers: Node[]) {
  const [w, c] = await Promise.all(
    [workers, callers].map((group) =>
      Promise.all(group.map((n) => ask(n, { type: 'idle', ms: 1 }, 'idle'))),
    ),
  );
  const windows = await Promise.all(callers.map((n) => ask(n, { type: 'subset' }, 'subset')));
  const held = windows.flatMap((x) => (x.window ? [x.window] : []));
  const perWorker = workers.map((n) => held.filter((win) => win.includes(n.label)).length);
  return {
    callerSockets: stats((c ?? []).map((i) => i.sockets)),
    workerSockets: stats((w ?? []).map((i) => i.sockets)),
    ...(held.length > 0
      ? {
          windows: {
            perCaller: stats(held.map((win) => win.length)),
            callersPerWorker: stats(perWorker),
          },
        }
      : {}),
  };
}

/**
 * Has every caller call for a moment (`RoundRobin`, so each reaches every member it may select:
 * on demand, that dials its window), then stops and lets the calls' after-effects (garbage
 * collection, compilation) pass: the idle window measures a cluster in use, at rest.
 */
async function warmUp(callers: Node[], o: ScaleOptions): Promise<void> {
  const load = (ratePerSec: number) =>
    Promise.all(
      callers.map((c) => ask(c, { type: 'load', ratePerSec, algorithm: 'RoundRobin' }, 'ok')),
    );
  await load(o.rate);
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  await load(0);
  await new Promise((resolve) => setTimeout(resolve, (o.restS ?? o.settleS) * 1000));
}

/** The idle window: every node's CPU, memory and sockets, callers and workers apart too. */
async function idleFigures(nodes: Node[], o: ScaleOptions) {
  const idle = await measureIdle(nodes, o);
  const split = o.nodes - o.callers;
  const cpu = (from: number, to?: number) => stats(idle.slice(from, to).map((i) => i.cpuPct));
  return {
    idle,
    freeAtPeakMiB: os.freemem() / MiB,
    completeAfterIdle: idle.filter((i) => i.peers === o.nodes - 1).length,
    sockets: stats(idle.map((i) => i.sockets)),
    idleCpuPct: cpu(0),
    idleCpuP90: percentile(
      idle.map((i) => i.cpuPct),
      90,
    ),
    idleOverTarget: idle.filter((i) => i.cpuPct > 1).length,
    workerIdleCpuPct: cpu(0, split),
    callerIdleCpuPct: cpu(split),
    rssMiB: stats(idle.map((i) => i.rss / MiB)),
    heapMiB: stats(idle.map((i) => i.heapUsed / MiB)),
    totalRssMiB: idle.reduce((sum, i) => sum + i.rss, 0) / MiB,
  };
}

async function runMode(mode: ScaleMode, o: ScaleOptions, log: Log): Promise<ModeResult> {
  const etcd = mode === 'mesh' ? undefined : await startEtcd();
  if (etcd) {
    trackPid(etcd.pid);
    log(`etcd on ${etcd.url} (pid ${etcd.pid})`);
  }
  const subset = mode === 'etcd-subset';
  const freeBeforeMiB = os.freemem() / MiB;
  const discovery = etcd ? { url: etcd.url, prefix: 'scale/' } : undefined;
  const started = await startNodes(o, discovery, subset ? (o.minAperture ?? 12) : undefined, log);
  const { nodes, startMs, lastReady } = started;
  const modeLog: Log = (line) => log(`${mode}: ${line}`);
  try {
    const view = await converged(nodes, o.convergeS * 1000);
    const convergeMs = 'at' in view ? view.at - lastReady : null;
    modeLog(
      'at' in view
        ? `every view complete ${convergeMs?.toFixed(0)} ms after the last process listened`
        : `${view.incomplete} nodes never had a complete view within ${o.convergeS} s (e.g. ${view.example})`,
    );
    const workers = nodes.slice(0, o.nodes - o.callers);
    const callers = nodes.slice(o.nodes - o.callers);
    // Let the handshake storm and the compilers' background work settle before measuring.
    await new Promise((resolve) => setTimeout(resolve, o.settleS * 1000));
    await warmUp(callers, o);
    const { idle, ...idleStats } = await idleFigures(nodes, o);
    modeLog(`idle CPU per node median ${idleStats.idleCpuPct.median.toFixed(2)} %`);
    const load = subset
      ? { rate: o.subsetRate ?? o.rate, loadS: o.subsetLoadS ?? o.loadS, algorithms: o.algorithms }
      : { rate: o.rate, loadS: o.loadS, algorithms: o.algorithms };
    const spreads = await measureSpreads(workers, callers, load, modeLog);
    const connections = await measureConnections(workers, callers);
    modeLog(`connections per caller median ${connections.callerSockets.median}`);
    const kill = await measureKill(workers, callers, o);
    modeLog(
      kill.windowGoneMs === undefined
        ? `killed workers unselected by every caller after ${kill.goneMs.max.toFixed(0)} ms`
        : `killed workers out of every caller's window after ${kill.windowGoneMs.max.toFixed(0)} ms, out of every member list (their registrations expired) after ${kill.goneMs.max.toFixed(0)} ms`,
    );
    const callerCounts = await Promise.all(
      callers.map((c) => ask(c, { type: 'counts' }, 'counts')),
    );
    return {
      mode,
      rate: load.rate,
      loadS: load.loadS,
      convergeMs,
      ...('at' in view ? {} : { incomplete: view.incomplete, incompleteExample: view.example }),
      startMs,
      ...idleStats,
      ...connections,
      freeBeforeMiB,
      kill,
      spreads,
      calls: callerCounts.reduce((sum, c) => sum + c.calls, 0),
      failures: callerCounts.reduce((sum, c) => sum + c.failures, 0),
    };
  } finally {
    await Promise.all(nodes.map((n) => n.stop(2_000)));
    if (etcd) {
      await etcd.stop();
      untrackPid(etcd.pid);
    }
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--report-only')) {
    const saved = new URL('bench/results/scale.json', ROOT);
    writeScaleDocs(JSON.parse(readFileSync(saved, 'utf8')) as ScaleResults);
    console.log('re-rendered the "Scale" section of docs/benchmarks.md and its chart');
    return;
  }
  const o = parseArgs(process.argv.slice(2));
  const deadlineMs = MODE_DEADLINE_MS * o.modes.length;
  installCleanup(deadlineMs);
  const t0 = Date.now();
  const log: Log = (line) =>
    console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${line}`);
  log(
    `bench:scale: ${o.nodes} processes (${o.nodes - o.callers} workers, ${o.callers} callers), modes ${o.modes.join(', ')}`,
  );
  const extra = process.argv.slice(2);
  const command = `npm run bench:scale${extra.length ? ` -- ${extra.join(' ')}` : ''}`;
  const file = new URL(
    o.writeDocs ? 'bench/results/scale.json' : 'bench/results/scale.raw.json',
    ROOT,
  );
  for (const mode of o.modes) {
    let result: ScaleResults['modes'][number];
    if (Date.now() - t0 > deadlineMs - MODE_BUDGET_MS) {
      result = {
        mode,
        skipped: `too little of the ${deadlineMs / 60_000}-minute budget left (run it alone: --modes)`,
      };
    } else if (mode !== 'mesh' && !existsEtcd()) {
      result = { mode, skipped: '/usr/bin/etcd is not installed (Debian package etcd-server)' };
    } else {
      const startedAt = new Date().toISOString();
      const before = Date.now();
      const loadBefore = loadavg();
      const measured = await runMode(mode, o, log);
      const durationS = Math.round((Date.now() - before) / 1000);
      result = {
        ...measured,
        run: { command, startedAt, durationS, loadBefore, loadAfter: loadavg() },
      };
    }
    if ('skipped' in result) log(`${mode} mode skipped: ${result.skipped}`);
    // Written after each mode, so a run cut short keeps what it measured.
    save(file, o, result);
    log(`wrote ${fileURLToPath(file)}`);
  }
  if (o.writeDocs) {
    writeScaleDocs(JSON.parse(readFileSync(file, 'utf8')) as ScaleResults);
    log(`wrote the "Scale" section of docs/benchmarks.md`);
  }
}

const loadavg = () => os.loadavg().map((l) => Math.round(l * 100) / 100);

/**
 * Merges one mode's result into the results file: a mode measured now replaces the one in the
 * file; a mode skipped now keeps the one measured before, if any.
 */
function save(file: URL, o: ScaleOptions, result: ScaleResults['modes'][number]): void {
  const old = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as ScaleResults).modes
    : [];
  const kept = old.filter((m) => m.mode !== result.mode);
  const previous = old.find((m) => m.mode === result.mode);
  const next = 'skipped' in result && previous && !('skipped' in previous) ? previous : result;
  const modes = [...kept, next].sort((a, b) => a.mode.localeCompare(b.mode)).reverse();
  const results: ScaleResults = {
    machine: machineInfo(),
    options: { ...o, writeDocs: undefined },
    pingIntervalMs: pingIntervalMs(o.heartbeatTimeoutMs, o.heartbeatTimeoutMs),
    checkIntervalMs: checkIntervalMs(o.heartbeatTimeoutMs),
    modes,
  };
  mkdirSync(new URL('bench/results/', ROOT), { recursive: true });
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  formatJson(file);
}

function existsEtcd(): boolean {
  try {
    accessSync(ETCD_BINARY, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

main().then(
  () => {
    killAll();
    process.exit(0);
  },
  (err: unknown) => {
    console.error('bench:scale failed:', err);
    killAll();
    process.exit(1);
  },
);
