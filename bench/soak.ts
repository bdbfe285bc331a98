/**
 * Soak benchmark: a steady load for minutes, watching every process's memory.
 *
 *   npm run bench:soak                              10 minutes, 256 in flight, 3 workers
 *   npm run bench:soak -- --minutes=2 --in-flight=64 --workers=2 --no-docs
 *
 * One caller process keeps `in-flight` `lb.call`s going through a balancer over `workers`
 * worker processes (bench/soak-child.ts). Every process runs with `--expose-gc` and is sampled
 * at regular intervals: live heap after a full garbage collection, and RSS. Growth per million
 * calls after warm-up is fitted by least squares (bench/lib/soak-report.ts). Results go to
 * bench/results/soak.json and the "Soak" section of docs/benchmarks.md (only that section is
 * rewritten; a full `npm run bench` renders it again from soak.json).
 *
 * Options: --minutes=N (default 10)  --in-flight=N (256)  --workers=N (3)
 *          --interval=S (seconds between samples; default the run / 30, at least 2)
 *          --no-docs (results file only)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { machineInfo, ROOT } from './lib/machine.js';
import { Child, installCleanup } from './lib/procs.js';
import type { MemorySample, ServerInfo } from './lib/protocol.js';
import {
  type SoakResults,
  summarize,
  type TimedSample,
  writeSoakSection,
} from './lib/soak-report.js';

const CHILD = fileURLToPath(new URL('./soak-child.js', import.meta.url));
const START_TIMEOUT_MS = 30_000;
const SAMPLE_TIMEOUT_MS = 60_000;

interface Options {
  minutes: number;
  inFlight: number;
  workers: number;
  intervalS?: number;
  writeDocs: boolean;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { minutes: 10, inFlight: 256, workers: 3, writeDocs: true };
  const positive = (key: string, value: string, integer: boolean) => {
    const n = Number(value);
    if (!(n > 0) || (integer && !Number.isInteger(n))) {
      throw new Error(
        `${key} must be a positive ${integer ? 'integer' : 'number'}, got "${value}"`,
      );
    }
    return n;
  };
  for (const arg of argv) {
    const [key = '', value = ''] = arg.split('=');
    if (key === '--minutes') opts.minutes = positive(key, value, false);
    else if (key === '--in-flight') opts.inFlight = positive(key, value, true);
    else if (key === '--workers') opts.workers = positive(key, value, true);
    else if (key === '--interval') opts.intervalS = positive(key, value, false);
    else if (key === '--no-docs') opts.writeDocs = false;
    else throw new Error(`unknown option ${arg} (see the header of bench/soak.ts)`);
  }
  return opts;
}

/** A child's reply of the expected type, or an error naming what came instead. */
async function ask<T extends string>(
  child: Child,
  msg: Parameters<Child['request']>[0],
  type: T,
  timeoutMs: number,
): Promise<Extract<Awaited<ReturnType<Child['request']>>, { type: T }>> {
  const reply = await child.request(msg, timeoutMs);
  if (reply.type !== type)
    throw new Error(`${child.label}: expected '${type}', got '${reply.type}'`);
  return reply as Extract<typeof reply, { type: T }>;
}

async function startProcesses(opts: Options): Promise<{ caller: Child; workers: Child[] }> {
  const workers = Array.from(
    { length: opts.workers },
    (_, i) => new Child(CHILD, ['worker', String(i)], `worker ${i}`, {}, ['--expose-gc']),
  );
  // Every child's first message is awaited from the start: one that arrives unawaited is lost.
  const servers: ServerInfo[] = await Promise.all(
    workers.map(async (worker) => {
      const ready = await worker.first(START_TIMEOUT_MS);
      if (ready.type !== 'ready' || !ready.info) throw new Error(`${worker.label} did not start`);
      return ready.info;
    }),
  );
  const caller = new Child(CHILD, ['caller'], 'caller', {}, ['--expose-gc']);
  await caller.first(START_TIMEOUT_MS);
  await ask(caller, { type: 'init', servers }, 'ready', START_TIMEOUT_MS);
  return { caller, workers };
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const durationMs = opts.minutes * 60_000;
  const intervalS = opts.intervalS ?? Math.max(2, Math.round(durationMs / 1000 / 30));
  // A fifth of the run (at least two samples) for pools, caches and the JIT to settle.
  const warmupS = Math.max(2 * intervalS, Math.round(durationMs / 1000 / 5));
  installCleanup(durationMs + 5 * 60_000);
  const t0 = Date.now();
  const log = (line: string) =>
    console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s] ${line}`);
  log(
    `soak: ${opts.minutes} min, ${opts.inFlight} in flight over ${opts.workers} workers, ` +
      `a sample every ${intervalS} s, warm-up ${warmupS} s, Node.js ${process.version}`,
  );
  const { caller, workers } = await startProcesses(opts);
  const all = [caller, ...workers];
  const samples: TimedSample[][] = all.map(() => []);
  await ask(caller, { type: 'load', inFlight: opts.inFlight }, 'ready', START_TIMEOUT_MS);
  const loadStart = Date.now();
  let last: MemorySample | undefined;
  for (let next = intervalS; ; next += intervalS) {
    const atMs = next * 1000;
    if (atMs > durationMs) break;
    await new Promise((resolve) => setTimeout(resolve, loadStart + atMs - Date.now()));
    const round = await Promise.all(
      all.map((child) => ask(child, { type: 'sample' }, 'sample', SAMPLE_TIMEOUT_MS)),
    );
    const atS = Math.round((Date.now() - loadStart) / 100) / 10;
    for (const [i, reply] of round.entries()) samples[i]?.push({ ...reply.sample, atS });
    last = round[0]?.sample;
    const heaps = round.map((r) => (r.sample.heapUsed / 2 ** 20).toFixed(1)).join(' / ');
    log(`${(last?.calls ?? 0).toLocaleString('en-US')} calls; live heap MiB ${heaps}`);
  }
  await Promise.all(all.map((child) => child.stop()));

  const processes = all.map((child, i) => ({ label: child.label, samples: samples[i] ?? [] }));
  const callerCalls = (samples[0] ?? []).map((s) => s.calls);
  const extra = process.argv.slice(2);
  const results: SoakResults = {
    command: `npm run bench:soak${extra.length ? ` -- ${extra.join(' ')}` : ''}`,
    startedAt: new Date(t0).toISOString(),
    durationS: Math.round((Date.now() - t0) / 1000),
    machine: machineInfo(),
    config: {
      minutes: opts.minutes,
      inFlight: opts.inFlight,
      workers: opts.workers,
      intervalS,
      warmupS,
    },
    calls: last?.calls ?? 0,
    failures: last?.failures ?? {},
    processes,
    summary: summarize(processes, callerCalls, warmupS),
  };
  report(results, opts, log);
}

function report(results: SoakResults, opts: Options, log: (line: string) => void): void {
  mkdirSync(new URL('bench/results/', ROOT), { recursive: true });
  writeFileSync(new URL('bench/results/soak.json', ROOT), `${JSON.stringify(results, null, 1)}\n`);
  for (const s of results.summary) {
    log(
      `${s.label.padEnd(9)} live heap ${s.heapFirstMiB} → ${s.heapLastMiB} MiB, ` +
        `${s.heapMiBPerMillion} MiB per million calls (RSS ${s.rssMiBPerMillion}) ` +
        `${s.meetsTarget ? 'under' : 'OVER'} the target`,
    );
  }
  log('results in bench/results/soak.json');
  if (opts.writeDocs) {
    writeSoakSection();
    log('docs/benchmarks.md: Soak section written');
  }
  if (results.summary.some((s) => !s.meetsTarget)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error('soak:', err);
  process.exit(1);
});
