/**
 * Scale benchmark: a hundred node processes on one machine, as a full mesh from seeds and with
 * etcd discovery (no subsetting: every node still connects to every other).
 *
 *   npm run bench:scale                       100 processes (90 workers, 10 callers), both modes
 *   npm run bench:scale -- --nodes=30 --no-docs   a quick run
 *
 * Per mode: time from the last process listening to every node's view being complete (all
 * N−1 peers, every worker in the group `work`); sockets per node; CPU of each idle node over
 * `--idle` seconds; RSS and heap per node; after a SIGKILL of `--kill` workers, how long until
 * every caller's balancer no longer has them; the calls each worker served under a steady
 * `--rate` per caller (max/mean). Results: bench/results/scale.json, the "Scale" section of
 * docs/benchmarks.md (bench/lib/scale-report.ts) and docs/benchmarks-scale.svg (scale-chart.ts).
 *
 * Options: --nodes=N (100)  --callers=N (10)  --kill=N (10)  --idle=S (10)  --settle=S (5, before idle)  --load=S (5, per algorithm)
 *          --rate=N (calls/s per caller, 20)  --heartbeat=MS (heartbeatTimeoutMs, 3000)
 *          --modes=mesh,etcd  --algorithms=LeastLoaded,RoundRobin (one load window each)  --no-docs
 *          --report-only (no run: re-renders the docs and chart from bench/results/scale.json)
 * Every process (nodes, etcd) is killed by pid on exit, error, SIGINT/SIGTERM and after 5 min.
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { pingIntervalMs } from '../src/transport/heartbeat.js';
import { ETCD_BINARY, startEtcd } from './lib/etcd.js';
import { machineInfo, ROOT } from './lib/machine.js';
import { formatJson } from './lib/output.js';
import { Child, installCleanup, killAll, trackPid, untrackPid } from './lib/procs.js';
import type { ScaleChildSpec, ScaleFromChild, ScaleToChild } from './lib/scale-protocol.js';
import {
  type ModeResult,
  type ScaleOptions,
  type ScaleResults,
  spread,
  stats,
  writeScaleDocs,
} from './lib/scale-report.js';

const CHILD = fileURLToPath(new URL('./scale-child.js', import.meta.url));
/** Small heaps and one helper thread: a hundred processes share two cores. */
const CHILD_ARGV = ['--max-old-space-size=64', '--max-semi-space-size=1', '--v8-pool-size=1'];
const BATCH = 10;
/** The whole run's bound, and the time a mode needs at least to be started. */
const DEADLINE_MS = 5 * 60_000;
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
    convergeS: 60,
    loadS: 5,
    rate: 20,
    heartbeatTimeoutMs: 3_000,
    modes: ['mesh', 'etcd'],
    algorithms: ['LeastLoaded', 'RoundRobin'],
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
    else if (k === '--converge') o.convergeS = int(k, v);
    else if (k === '--load') o.loadS = int(k, v);
    else if (k === '--rate') o.rate = int(k, v);
    else if (k === '--heartbeat') o.heartbeatTimeoutMs = int(k, v);
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
async function startNodes(o: ScaleOptions, etcd: ScaleChildSpec['etcd'], log: Log) {
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
async function measureSpreads(workers: Node[], callers: Node[], o: ScaleOptions, log: Log) {
  const spreads: ModeResult['spreads'] = [];
  const counts = () => Promise.all(workers.map((w) => ask(w, { type: 'counts' }, 'counts')));
  for (const algorithm of o.algorithms) {
    const before = await counts();
    await Promise.all(
      callers.map((c) => ask(c, { type: 'load', ratePerSec: o.rate, algorithm }, 'ok')),
    );
    await new Promise((resolve) => setTimeout(resolve, o.loadS * 1000));
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
  const interval = pingIntervalMs(o.heartbeatTimeoutMs, o.heartbeatTimeoutMs);
  return {
    killed: o.kill,
    goneMs: stats(goneMs),
    callersTimedOut: gone.length - goneMs.length,
    boundMs: o.heartbeatTimeoutMs + interval,
  };
}

/** Every node's idle CPU, memory and sockets over the same window. */
async function measureIdle(nodes: Node[], o: ScaleOptions) {
  const ms = o.idleS * 1000;
  return Promise.all(nodes.map((n) => ask(n, { type: 'idle', ms }, 'idle', ms + 30_000)));
}

async function runMode(mode: 'mesh' | 'etcd', o: ScaleOptions, log: Log): Promise<ModeResult> {
  const etcd = mode === 'etcd' ? await startEtcd() : undefined;
  if (etcd) {
    trackPid(etcd.pid);
    log(`etcd on ${etcd.url} (pid ${etcd.pid})`);
  }
  const freeBeforeMiB = os.freemem() / MiB;
  const discovery = etcd ? { url: etcd.url, prefix: 'scale/' } : undefined;
  const { nodes, startMs, lastReady } = await startNodes(o, discovery, log);
  const modeLog: Log = (line) => log(`${mode}: ${line}`);
  try {
    const view = await converged(nodes, o.convergeS * 1000);
    const convergeMs = 'at' in view ? view.at - lastReady : null;
    modeLog(
      'at' in view
        ? `every view complete ${convergeMs?.toFixed(0)} ms after the last process listened`
        : `${view.incomplete} nodes never had a complete view within ${o.convergeS} s (e.g. ${view.example})`,
    );
    // Let the handshake storm and the compilers' background work settle before measuring.
    await new Promise((resolve) => setTimeout(resolve, o.settleS * 1000));
    const idle = await measureIdle(nodes, o);
    const freeAtPeakMiB = os.freemem() / MiB;
    modeLog(`idle CPU per node median ${stats(idle.map((i) => i.cpuPct)).median.toFixed(2)} %`);
    const workers = nodes.slice(0, o.nodes - o.callers);
    const callers = nodes.slice(o.nodes - o.callers);
    const spreads = await measureSpreads(workers, callers, o, modeLog);
    const kill = await measureKill(workers, callers, o);
    modeLog(`killed workers unselected by every caller after ${kill.goneMs.max.toFixed(0)} ms`);
    const callerCounts = await Promise.all(
      callers.map((c) => ask(c, { type: 'counts' }, 'counts')),
    );
    return {
      mode,
      convergeMs,
      ...('at' in view ? {} : { incomplete: view.incomplete, incompleteExample: view.example }),
      completeAfterIdle: idle.filter((i) => i.peers === o.nodes - 1).length,
      startMs,
      sockets: stats(idle.map((i) => i.sockets)),
      idleCpuPct: stats(idle.map((i) => i.cpuPct)),
      rssMiB: stats(idle.map((i) => i.rss / MiB)),
      heapMiB: stats(idle.map((i) => i.heapUsed / MiB)),
      totalRssMiB: idle.reduce((sum, i) => sum + i.rss, 0) / MiB,
      freeBeforeMiB,
      freeAtPeakMiB,
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
  installCleanup(DEADLINE_MS);
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
    if (Date.now() - t0 > DEADLINE_MS - MODE_BUDGET_MS) {
      result = { mode, skipped: 'too little of the 5-minute budget left (run it alone: --modes)' };
    } else if (mode === 'etcd' && !existsEtcd()) {
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
