/**
 * The scale benchmark's results (bench/results/scale.json) and the "Scale" section of
 * docs/benchmarks.md, kept between markers so the main benchmark's full render keeps it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { MachineInfo } from './machine.js';
import { ROOT } from './machine.js';
import { replaceSection, type Section } from './output.js';
import { renderScaleSvg } from './scale-chart.js';

export const SCALE_SECTION: Section = {
  start: '<!-- bench:scale:start -->',
  end: '<!-- bench:scale:end -->',
};
export const SCALE_HEADING = '## Scale: a hundred node processes';
export const SCALE_ANCHOR = '## Where the time goes';

/** How the nodes find and connect to each other in a run. */
export type ScaleMode = 'mesh' | 'etcd' | 'etcd-subset';

export interface ScaleOptions {
  nodes: number;
  callers: number;
  kill: number;
  idleS: number;
  /** Seconds between convergence and the warm-up calls. */
  settleS: number;
  /**
   * Seconds between the warm-up calls and the idle window: a node keeps using more CPU for tens
   * of seconds after start-up and load (V8's garbage collection and compilation catching up),
   * which is not what the idle window measures. Older results lack it (the settle time was
   * used).
   */
  restS?: number;
  /** Seconds to wait for every view to be complete. */
  convergeS: number;
  loadS: number;
  rate: number;
  heartbeatTimeoutMs: number;
  /** The callers' subset in the `etcd-subset` mode (absent from runs before it existed). */
  minAperture?: number;
  /** The spread windows' rate and length in the `etcd-subset` mode. */
  subsetRate?: number;
  subsetLoadS?: number;
  modes: ScaleMode[];
  /** The callers' algorithms, one load window each. */
  algorithms: string[];
  writeDocs: boolean;
}

/** Median, min, max and mean of some values. */
export interface Stats {
  median: number;
  min: number;
  max: number;
  mean: number;
}

/** Calls served per worker in one load window. */
export interface Spread {
  workers: number;
  total: number;
  mean: number;
  max: number;
  min: number;
  maxOverMean: number;
}

export interface ModeResult {
  mode: ScaleMode;
  /** The load of the spread windows: calls per second per caller, and seconds per algorithm. */
  rate?: number;
  loadS?: number;
  /** Last process listening → every node's view complete, ms (null: not within the wait). */
  convergeMs: number | null;
  /** Nodes that never had a complete view within the wait, and one of their views. */
  incomplete?: number;
  incompleteExample?: string;
  /** Nodes connected to all the others at the end of the idle window. */
  completeAfterIdle: number;
  /** First spawn → last process listening, ms. */
  startMs: number;
  sockets: Stats;
  /** The same, callers and workers apart (runs before the subset mode have only the above). */
  callerSockets?: Stats;
  workerSockets?: Stats;
  idleCpuPct: Stats;
  /** The 90th percentile of the nodes' idle CPU, and how many nodes were over the 1 % target. */
  idleCpuP90?: number;
  idleOverTarget?: number;
  callerIdleCpuPct?: Stats;
  workerIdleCpuPct?: Stats;
  rssMiB: Stats;
  heapMiB: Stats;
  totalRssMiB: number;
  freeBeforeMiB: number;
  freeAtPeakMiB: number;
  kill: {
    killed: number;
    /** Until no caller's balancer has any of them as a member. */
    goneMs: Stats;
    /** Subset mode: until no caller's subset window holds any of them (no caller can select one). */
    windowGoneMs?: Stats;
    callersTimedOut: number;
    boundMs: number;
  };
  /** Subset mode, at the end of the idle window: workers in each caller's window, callers per worker. */
  windows?: { perCaller: Stats; callersPerWorker: Stats };
  spreads: ({ algorithm: string } & Spread)[];
  calls: number;
  failures: number;
}

/** When and how one mode was measured (modes may come from separate runs). */
export interface RunInfo {
  command: string;
  startedAt: string;
  durationS: number;
  loadBefore: number[];
  loadAfter: number[];
}

export interface ScaleResults {
  machine: MachineInfo;
  options: Omit<ScaleOptions, 'writeDocs'> & { writeDocs?: undefined };
  pingIntervalMs: number;
  /** How often a node judges its peers' silence; the heartbeat bound is the timeout plus this. */
  checkIntervalMs: number;
  modes: ((ModeResult & { run: RunInfo }) | { mode: ScaleMode; skipped: string })[];
}

export function stats(values: number[]): Stats {
  if (values.length === 0)
    return { median: Number.NaN, min: Number.NaN, max: Number.NaN, mean: Number.NaN };
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median =
    s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { median, min: s[0] as number, max: s[s.length - 1] as number, mean };
}

/** Calls served per worker: total, mean, extremes and max/mean (1 is a perfectly even spread). */
export function spread(served: number[]): Spread {
  const total = served.reduce((a, b) => a + b, 0);
  const mean = served.length ? total / served.length : 0;
  const max = Math.max(0, ...served);
  const min = served.length ? Math.min(...served) : 0;
  return {
    workers: served.length,
    total,
    mean,
    max,
    min,
    maxOverMean: mean > 0 ? max / mean : Number.NaN,
  };
}

const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '–');
const LABEL: Record<ScaleMode, string> = {
  mesh: 'full mesh, seeds',
  etcd: 'full mesh, etcd discovery',
  'etcd-subset': 'on demand + subsetting, etcd discovery',
};
const range = (s: Stats | undefined, d = 0) =>
  s === undefined ? '–' : `${f(s.median, d)} (${f(s.min, d)}–${f(s.max, d)})`;

type Measured = ModeResult & { run: RunInfo };
const measured = (r: ScaleResults) => r.modes.filter((m): m is Measured => !('skipped' in m));

function rows(r: ScaleResults): string[] {
  const offered = (m: ModeResult) =>
    r.options.callers * (m.rate ?? r.options.rate) * (m.loadS ?? r.options.loadS);
  const done = measured(r);
  const line = (label: string, cell: (m: ModeResult) => string) =>
    `| ${label} | ${done.map(cell).join(' | ')} |`;
  return [
    `| | ${done.map((m) => LABEL[m.mode]).join(' | ')} |`,
    `|---|${done.map(() => '---').join('|')}|`,
    line('start: first spawn → last process listening', (m) => `${f(m.startMs / 1000)} s`),
    line('**converged**: last process listening → every view complete', (m) =>
      m.convergeMs === null
        ? `**not within ${r.options.convergeS} s**: ${m.incomplete} nodes never complete (e.g. ${m.incompleteExample})`
        : `**${f(m.convergeMs, 0)} ms**`,
    ),
    line(
      `nodes connected to all ${r.options.nodes - 1} others at the end of the idle window`,
      (m) => `${m.completeAfterIdle} of ${r.options.nodes}`,
    ),
    line(
      'sockets per node (transport; median, min–max)',
      (m) => `${m.sockets.median} (${m.sockets.min}–${m.sockets.max})`,
    ),
    line('**connections per caller** (sockets; median, min–max)', (m) => range(m.callerSockets)),
    line('connections per worker (sockets; median, min–max)', (m) => range(m.workerSockets)),
    line("subset: workers in a caller's window; callers whose window holds a worker", (m) =>
      m.windows
        ? `${range(m.windows.perCaller)}; ${range(m.windows.callersPerWorker)}`
        : '– (every caller selects from every worker)',
    ),
    line(
      `**idle CPU per node**, % of a core over ${r.options.idleS} s: median (max)`,
      (m) => `**${f(m.idleCpuPct.median, 2)}** (${f(m.idleCpuPct.max, 2)})`,
    ),
    line('idle CPU per node: mean; 90th percentile; nodes over 1 %', (m) =>
      m.idleCpuP90 === undefined
        ? '–'
        : `${f(m.idleCpuPct.mean, 2)}; ${f(m.idleCpuP90, 2)}; ${m.idleOverTarget} of ${r.options.nodes}`,
    ),
    line('idle CPU per caller / per worker, %: median (max)', (m) =>
      m.callerIdleCpuPct && m.workerIdleCpuPct
        ? `${f(m.callerIdleCpuPct.median, 2)} (${f(m.callerIdleCpuPct.max, 2)}) / ${f(m.workerIdleCpuPct.median, 2)} (${f(m.workerIdleCpuPct.max, 2)})`
        : '–',
    ),
    line(`idle CPU of all nodes, cores (of the machine's ${r.machine.cores})`, (m) =>
      f((m.idleCpuPct.mean * r.options.nodes) / 100, 2),
    ),
    line('RSS per node, MiB: median (max)', (m) => `${f(m.rssMiB.median)} (${f(m.rssMiB.max)})`),
    line(
      'heap used per node, MiB: median (max)',
      (m) => `${f(m.heapMiB.median)} (${f(m.heapMiB.max)})`,
    ),
    line(
      'RSS of all nodes; machine memory free before → with all running',
      (m) =>
        `${f(m.totalRssMiB / 1024, 2)} GiB; ${f(m.freeBeforeMiB / 1024)} → ${f(m.freeAtPeakMiB / 1024)} GiB`,
    ),
    line(
      `**SIGKILL of ${r.options.kill} workers → no caller selects them**: median (max) over callers`,
      (m) =>
        `**${f((m.kill.windowGoneMs ?? m.kill.goneMs).median, 0)} ms** (${f((m.kill.windowGoneMs ?? m.kill.goneMs).max, 0)}); bound ${f(m.kill.boundMs / 1000, 1)} s${m.kill.callersTimedOut ? `; ${m.kill.callersTimedOut} callers still selecting one after 30 s` : ''}`,
    ),
    line(
      `SIGKILL of ${r.options.kill} workers → gone from every caller's members: median (max)`,
      (m) => `${f(m.kill.goneMs.median, 0)} ms (${f(m.kill.goneMs.max, 0)})`,
    ),
    ...r.options.algorithms.map((a) =>
      line(`calls served per worker, callers on \`${a}\`: mean, min–max, **max/mean**`, (m) => {
        const s = m.spreads.find((x) => x.algorithm === a);
        return s
          ? `${f(s.mean)}, ${s.min}–${s.max}, **${f(s.maxOverMean, 2)}** (${s.total} served of ${offered(m)} offered: ${m.rate ?? r.options.rate}/s per caller for ${m.loadS ?? r.options.loadS} s)`
          : '–';
      }),
    ),
    line(
      'calls completed / failed (whole run, kill included)',
      (m) => `${m.calls} / ${m.failures}`,
    ),
  ];
}

export function renderScaleSection(r: ScaleResults): string {
  const o = r.options;
  const skipped = r.modes.filter((m): m is { mode: ScaleMode; skipped: string } => 'skipped' in m);
  return [
    SCALE_SECTION.start,
    '<!-- Generated by bench/scale.ts (`npm run bench:scale`); edit the generator, not this section. -->',
    `${o.nodes} node processes on one machine (${o.nodes - o.callers} workers in the group \`work\`, ${o.callers} callers each running a balancer over it), all on 127.0.0.1, in three modes: a **full mesh** found through seeds, the same mesh found through **etcd**, and **on demand with subsetting** (\`connections: 'on-demand'\` with etcd carrying the groups, and each caller's balancer on \`subset: { minAperture: ${o.minAperture ?? 12} }\`: a caller connects only to the workers of its window, a worker only to the callers whose window holds it). Targets of issue 15: convergence ≤ 5 s after the last process listens; idle CPU ≤ 1 % of a core per node; with subsetting, ≤ 16 connections per caller and max/mean ≤ 1.15 calls per worker; a SIGKILLed worker unselected within the heartbeat bound. Model for 1 000 and 10 000 nodes, both designs: \`npm run bench:scale-model\` (on the [membership page](explanation/membership.md#limits-of-the-full-mesh)).`,
    '![Convergence, connections, idle CPU, RSS, SIGKILL detection and load spread per mode](benchmarks-scale.svg)',
    rows(r).join('\n'),
    ...skipped.map((m) => `Not measured: ${m.mode}: ${m.skipped}.`),
    [
      ...measured(r).map(
        (m) =>
          `- ${LABEL[m.mode]}: \`${m.run.command}\`, started ${m.run.startedAt}, took ${m.run.durationS} s; load average ${m.run.loadBefore.join(' / ')} before, ${m.run.loadAfter.join(' / ')} after.`,
      ),
      `- Machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGiB} GiB; Node.js ${r.machine.node}; commit ${r.machine.commit}.`,
      `- \`heartbeatTimeoutMs\` ${o.heartbeatTimeoutMs}, so a ping every ${r.pingIntervalMs} ms on each connection, both ways, and a check for silence every ${r.checkIntervalMs} ms; the heartbeat bound for a silent node is ${o.heartbeatTimeoutMs + r.checkIntervalMs} ms. A SIGKILLed process's sockets are closed by the kernel, so survivors drop it on the closed socket, well inside that bound; a frozen or cut-off node would take up to the bound.`,
      `- How: each node is its own process (\`--max-old-space-size=64 --max-semi-space-size=1 --v8-pool-size=1\`), started in batches of 10; in the seeds mode every node but the first is seeded with the first three, in the etcd modes every node uses \`etcdDiscovery\` on one etcd started for the run (peer exchange left on in the mesh, as by default; off on demand). Each node reports on its own clock when its view is first complete: in a mesh, all ${o.nodes - 1} peers connected and all ${o.nodes - o.callers} workers in the group (callers: in their balancer too); on demand, all workers in the group, and for a caller, all ${o.callers} callers counted in its subset. ${o.settleS} s after convergence every caller makes calls for 3 s (\`RoundRobin\`, so on demand each dials its window) and stops; ${o.restS ?? o.settleS} s later (a node keeps using more CPU for tens of seconds after start-up and load, V8's garbage collection and compilation catching up) idle CPU is \`process.cpuUsage()\` over ${o.idleS} s with no calls, every node measured at once, and memory is read at the end of that window. Then the callers call with each algorithm in turn (${o.algorithms.map((a) => `\`${a}\``).join(', ')}; a fresh balancer each, workers count what they serve; the rate and length are in the table), connections are counted, and, with the last algorithm's calls still going, the last ${o.kill} workers are SIGKILLed: each caller reports when none of them was left in its subset window (on demand: no caller can select one) and when the last left its group view (balancer members follow the group in the same tick). Every process, etcd included, is killed by pid at the end, on error or on SIGINT.`,
    ].join('\n'),
    SCALE_SECTION.end,
  ].join('\n\n');
}

export function scaleSection(): string {
  const file = new URL('bench/results/scale.json', ROOT);
  if (!existsSync(file))
    return `${SCALE_SECTION.start}\n_Not measured yet: run \`npm run bench:scale\`._\n${SCALE_SECTION.end}`;
  return renderScaleSection(JSON.parse(readFileSync(file, 'utf8')) as ScaleResults);
}

/** Writes the "Scale" section of docs/benchmarks.md and its chart, docs/benchmarks-scale.svg. */
export function writeScaleDocs(r: ScaleResults): void {
  const file = new URL('docs/benchmarks.md', ROOT);
  const page = readFileSync(file, 'utf8');
  writeFileSync(
    file,
    replaceSection(page, SCALE_SECTION, renderScaleSection(r), SCALE_ANCHOR, SCALE_HEADING),
  );
  writeFileSync(new URL('docs/benchmarks-scale.svg', ROOT), renderScaleSvg(r));
}
