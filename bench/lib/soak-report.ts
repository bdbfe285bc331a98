/**
 * The soak benchmark's results (bench/results/soak.json): what was sampled, the growth per
 * million calls after warm-up, and the "Soak" section of docs/benchmarks.md.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { MachineInfo } from './machine.js';
import { ROOT } from './machine.js';
import type { MemorySample } from './protocol.js';

/** Growth of live heap allowed per million calls after warm-up, in MiB (the target). */
export const HEAP_TARGET_MIB_PER_MILLION = 1;

/** One sample of one process, `atS` seconds after the load started. */
export interface TimedSample extends MemorySample {
  atS: number;
}

/** Everything a soak run produced. */
export interface SoakResults {
  command: string;
  startedAt: string;
  durationS: number;
  machine: MachineInfo;
  config: {
    minutes: number;
    inFlight: number;
    workers: number;
    intervalS: number;
    warmupS: number;
  };
  /** Total calls completed and failed (by code), from the caller. */
  calls: number;
  failures: Record<string, number>;
  processes: { label: string; samples: TimedSample[] }[];
  summary: ProcessSummary[];
}

/** One process's figures after warm-up. */
export interface ProcessSummary {
  label: string;
  /** Samples after warm-up that the slopes are fitted to. */
  samples: number;
  heapFirstMiB: number;
  heapLastMiB: number;
  heapMaxMiB: number;
  rssLastMiB: number;
  /** Least-squares slope of live heap against calls completed, in MiB per million calls. */
  heapMiBPerMillion: number;
  rssMiBPerMillion: number;
  meetsTarget: boolean;
}

const MiB = 2 ** 20;

/** Least-squares slope of `y` against `x` (0 with fewer than two distinct x). */
export function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/**
 * Fits each process's heap and RSS after warm-up against the calls the caller had completed
 * when it was sampled (all processes are sampled together, so the caller's count is the clock).
 */
export function summarize(
  processes: SoakResults['processes'],
  callerCalls: number[],
  warmupS: number,
): ProcessSummary[] {
  return processes.map(({ label, samples }) => {
    const kept = samples
      .map((sample, i) => ({ sample, calls: callerCalls[i] ?? 0 }))
      .filter(({ sample }) => sample.atS >= warmupS);
    const perMillion = (key: 'heapUsed' | 'rss') =>
      (slope(kept.map(({ sample, calls }) => ({ x: calls, y: sample[key] }))) * 1e6) / MiB;
    const heaps = kept.map(({ sample }) => sample.heapUsed / MiB);
    const heapMiBPerMillion = round(perMillion('heapUsed'), 3);
    return {
      label,
      samples: kept.length,
      heapFirstMiB: round(heaps[0] ?? 0),
      heapLastMiB: round(heaps[heaps.length - 1] ?? 0),
      heapMaxMiB: round(Math.max(0, ...heaps)),
      rssLastMiB: round((kept[kept.length - 1]?.sample.rss ?? 0) / MiB),
      heapMiBPerMillion,
      rssMiBPerMillion: round(perMillion('rss'), 3),
      meetsTarget: heapMiBPerMillion < HEAP_TARGET_MIB_PER_MILLION,
    };
  });
}

function round(value: number, decimals = 2): number {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}

/** The "Soak" section of docs/benchmarks.md, from bench/results/soak.json (if there is one). */
export function soakSection(): string {
  const file = new URL('bench/results/soak.json', ROOT);
  if (!existsSync(file)) return 'No soak run recorded yet: run `npm run bench:soak`.';
  return renderSoak(JSON.parse(readFileSync(file, 'utf8')) as SoakResults);
}

export function renderSoak(r: SoakResults): string {
  const c = r.config;
  const failed = Object.entries(r.failures);
  const rows = r.summary.map(
    (s) =>
      `| ${s.label} | ${s.heapFirstMiB} → ${s.heapLastMiB} (max ${s.heapMaxMiB}) | **${s.heapMiBPerMillion}** | ${s.rssLastMiB} | ${s.rssMiBPerMillion} | ${s.meetsTarget ? 'yes' : '**no**'} |`,
  );
  return `A long run at a steady load, watching memory: \`${r.command}\` keeps ${c.inFlight} \`lb.call\`s
in flight from one caller process through a \`LeastConnections\` balancer to ${c.workers} worker
processes (\`Bench.echo\` of the small payload) for ${c.minutes} minutes. Every ${c.intervalS} s each
process is sampled: live heap right after a full garbage collection (the processes run with
\`--expose-gc\`), and RSS. The first ${c.warmupS} s are warm-up and not fitted; growth is the
least-squares slope of each process's figure against the calls completed, per million calls.
Target: under ${HEAP_TARGET_MIB_PER_MILLION} MiB of live heap per million calls on every process.

- Run: started ${r.startedAt}, ${r.durationS} s, ${r.calls.toLocaleString('en-US')} calls (${Math.round(r.calls / (c.minutes * 60)).toLocaleString('en-US')} calls/s), ${failed.length === 0 ? 'no failed call' : `failed calls: ${failed.map(([code, n]) => `${code} ${n}`).join(', ')}`}.
- Machine: ${r.machine.cpu}, ${r.machine.cores} cores; Node.js ${r.machine.node}; commit ${r.machine.commit}.

| process | live heap after warm-up, MiB (first → last) | heap growth, MiB per million calls | RSS at the end, MiB | RSS growth, MiB per million calls | under target |
|---|---|---|---|---|---|
${rows.join('\n')}

RSS includes memory V8 keeps reserved after a collection and the allocator's caches, so it
moves in steps and is shown for information; the live heap is what the target is about. Raw
samples: \`bench/results/soak.json\`.`;
}

/**
 * Writes the Soak section into docs/benchmarks.md in place (before "Where the time goes" if the
 * page has none yet), leaving the rest of the page, which comes from the last full run, as is.
 */
export function writeSoakSection(): void {
  const file = new URL('docs/benchmarks.md', ROOT);
  const page = readFileSync(file, 'utf8');
  const section = `## Soak\n\n${soakSection()}\n\n`;
  const start = page.indexOf('\n## Soak\n');
  let next: string;
  if (start >= 0) {
    const end = page.indexOf('\n## ', start + 1);
    next = `${page.slice(0, start + 1)}${section}${end >= 0 ? page.slice(end + 1) : ''}`;
  } else {
    const before = page.indexOf('\n## Where the time goes\n');
    const at = before >= 0 ? before + 1 : page.length;
    next = `${page.slice(0, at)}${section}${page.slice(at)}`;
  }
  writeFileSync(file, next);
}
