/**
 * Side-by-side benchmark: the node:net floor, @grpc/grpc-js, Moleculer (TCP transporter) and
 * rpc-load-balancer, every server its own process on 127.0.0.1, each system's client in its
 * own driver process, measured alternately in several passes of one run. Then, with those
 * processes gone, the per-pick cost of the selection algorithms (bench/picks.ts) and cluster
 * membership: mesh formation of 8 and 32 node processes (8 in quick mode) and how soon a
 * join is visible on every node (bench/membership.ts).
 *
 *   npm run bench            full run (~7 min), writes docs/benchmarks.md + .svg and
 *   npm run bench:quick      quick run (~1.5 min)       bench/results/latest.json
 *
 * Options (after `--`): --systems=floor,grpc,...  --passes=N  --duration=MS  --no-docs
 *   --cases=c256-64B,...  only these call cases, no pick or membership benchmark and no docs
 *                         (for trying a change quickly; ids in bench/lib/cases.ts)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BenchResults, Measurement, MembershipReport } from './lib/analyze.js';
import { CASES, type CaseDef, MODES, type ModeConfig } from './lib/cases.js';
import { machineInfo, ROOT } from './lib/machine.js';
import { formatJson } from './lib/output.js';
import { encodedSize } from './lib/payloads.js';
import type { PicksReport } from './lib/picks-types.js';
import { Child, installCleanup, killAll, liveChildren } from './lib/procs.js';
import {
  measuredIn,
  type RunResult,
  type RunSpec,
  type ServerInfo,
  SYSTEMS,
  type SystemName,
} from './lib/protocol.js';
import { loadRpclb } from './lib/rpclb-api.js';
import { runMembershipBench } from './membership.js';
import { renderMarkdown, writeDocs } from './report.js';

const HERE = new URL('./', import.meta.url);
const script = (path: string) => fileURLToPath(new URL(path, HERE));
const SERVER_SCRIPT = script('servers/main.js');
const DRIVER_SCRIPT = script('driver.js');
const PICKS_SCRIPT = script('lib/picks-child.js');
const SERVERS_PER_SYSTEM = 3;
/** Left after the membership benchmark's deadline for writing the results, before the hard one. */
const RESULTS_RESERVE_MS = 10_000;

interface Options {
  quick: boolean;
  systems: SystemName[];
  /** Only these cases, and nothing else (no picks, no membership, no docs). */
  cases?: string[];
  passes?: number;
  durationMs?: number;
  writeDocs: boolean;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { quick: false, systems: [...SYSTEMS], writeDocs: true };
  for (const arg of argv) {
    const [key, value = ''] = arg.split('=');
    if (key === '--quick') opts.quick = true;
    else if (key === '--no-docs') opts.writeDocs = false;
    else if (key === '--passes') opts.passes = Number(value);
    else if (key === '--duration') opts.durationMs = Number(value);
    else if (key === '--cases') {
      const ids = value.split(',');
      const unknown = ids.filter((id) => !CASES.some((c) => c.id === id));
      if (unknown.length > 0) throw new Error(`unknown case(s): ${unknown.join(', ')}`);
      opts.cases = ids;
      opts.writeDocs = false;
    } else if (key === '--systems') {
      const names = value.split(',') as SystemName[];
      const unknown = names.filter((n) => !SYSTEMS.includes(n));
      if (unknown.length > 0) throw new Error(`unknown system(s): ${unknown.join(', ')}`);
      opts.systems = SYSTEMS.filter(
        (s) => s === 'floor' || s === 'floorPlain' || names.includes(s),
      );
    } else throw new Error(`unknown option ${arg}`);
  }
  return opts;
}

interface LiveSystem {
  name: SystemName;
  servers: Child[];
  infos: ServerInfo[];
  driver: Child;
}

async function startSystem(name: SystemName): Promise<LiveSystem> {
  const servers: Child[] = [];
  let driver: Child | undefined;
  try {
    for (let i = 0; i < SERVERS_PER_SYSTEM; i++) {
      servers.push(new Child(SERVER_SCRIPT, [name, String(i)], `${name} server ${i}`));
    }
    const infos = await Promise.all(
      servers.map(async (server) => {
        const msg = await server.first(30_000);
        if (msg.type !== 'ready' || !msg.info) throw new Error(`${server.label}: not ready`);
        return msg.info;
      }),
    );
    driver = new Child(DRIVER_SCRIPT, [name], `${name} driver`);
    await driver.first(15_000);
    await driver.request({ type: 'init', servers: infos }, 60_000);
    return { name, servers, infos, driver };
  } catch (err) {
    await Promise.all([...servers, ...(driver ? [driver] : [])].map((c) => c.stop(500)));
    throw err;
  }
}

async function stopSystem(sys: LiveSystem): Promise<void> {
  await sys.driver.stop();
  await Promise.all(sys.servers.map((s) => s.stop()));
}

async function run(sys: LiveSystem, spec: RunSpec): Promise<RunResult> {
  const msg = await sys.driver.request({ type: 'run', spec }, spec.durationMs + 30_000);
  if (msg.type !== 'result') throw new Error(`${sys.driver.label}: unexpected '${msg.type}'`);
  return msg.result;
}

/** Each server's count of calls handled and its CPU time so far (µs). */
async function counts(sys: LiveSystem): Promise<{ calls: number; cpuUs: number }[]> {
  return Promise.all(
    sys.servers.map(async (server) => {
      const msg = await server.request({ type: 'count' }, 5_000);
      return msg.type === 'count'
        ? { calls: msg.calls, cpuUs: msg.cpuUs ?? 0 }
        : { calls: 0, cpuUs: 0 };
    }),
  );
}

/**
 * Warm-up of the same case, then the measurement, with the servers' CPU time over it (and their
 * shares of the calls when balanced).
 */
async function measure(sys: LiveSystem, def: CaseDef, mode: ModeConfig): Promise<Measurement> {
  const spec: RunSpec = { ...specOf(def), durationMs: mode.durationMs };
  await run(sys, { ...spec, durationMs: mode.warmupMs, recordLatency: false });
  const before = await counts(sys);
  const result = await run(sys, spec);
  const after = await counts(sys);
  const m: Measurement = { caseId: def.id, system: sys.name, pass: 0, result };
  m.serverCpuUs = after.reduce((sum, s, i) => sum + s.cpuUs - (before[i]?.cpuUs ?? 0), 0);
  if (def.balanced) {
    const delta = after.map((s, i) => s.calls - (before[i]?.calls ?? 0));
    const total = delta.reduce((a, b) => a + b, 0);
    m.shares = delta.map((n) => (total > 0 ? n / total : 0));
  }
  return m;
}

function rate(result: RunResult | undefined): string {
  if (!result) return 'failed';
  const perSec = result.calls / (result.elapsedMs / 1000);
  return perSec >= 10_000 ? `${(perSec / 1000).toFixed(1)}k/s` : `${perSec.toFixed(0)}/s`;
}

async function runPicks(quick: boolean): Promise<PicksReport> {
  const child = new Child(PICKS_SCRIPT, quick ? ['--quick'] : [], 'picks');
  try {
    const msg = await child.first(quick ? 60_000 : 180_000);
    if (msg.type !== 'picks') throw new Error(`picks: unexpected '${msg.type}'`);
    return msg.report;
  } catch (err) {
    return { rows: [], floor: [], missing: `the pick benchmark failed: ${(err as Error).message}` };
  } finally {
    await child.stop(500);
  }
}

/**
 * Cluster membership: mesh formation (8 and 32 node processes; 8 in quick mode) and join
 * visibility. The benchmark forks its own node processes and kills them by pid on every way
 * out; it stops early, keeping what it measured, rather than run past `deadline` (epoch ms).
 */
async function runMembership(
  quick: boolean,
  deadline: number,
  log: Log,
): Promise<MembershipReport> {
  try {
    const result = await runMembershipBench({ quick, deadline });
    for (const c of result.convergence) {
      log(
        `membership: full mesh of ${c.nodes} processes ${c.ms} ms after the last one listened ` +
          `[${c.samples.join(', ')}]`,
      );
    }
    const j = result.joinVisibleMs;
    if (j.samples.length > 0) {
      log(
        `membership: join visible on all ${j.nodes} nodes, median ${j.median} ms ` +
          `(${Math.min(...j.samples)}–${Math.max(...j.samples)}) over ${j.samples.length} joins`,
      );
    }
    if (result.stoppedEarly) log(`membership: ${result.stoppedEarly}`);
    return result;
  } catch (err) {
    const missing = `the membership benchmark failed: ${(err as Error).message}`;
    log(missing);
    return { missing };
  }
}

type Log = (line: string) => void;

/** Starts every wanted system (one retry each); the ones that fail are recorded in `skipped`. */
async function startSystems(
  wanted: SystemName[],
  skipped: Partial<Record<SystemName, string>>,
  log: Log,
): Promise<LiveSystem[]> {
  // A start can fail for reasons outside the system (a busy machine, a file being rebuilt
  // under us), so it gets a second chance; a second failure is reported.
  const starts = await Promise.allSettled(
    wanted.map((name) =>
      startSystem(name).catch((err: unknown) => {
        log(`${name}: ${(err as Error).message}; retrying once`);
        return startSystem(name);
      }),
    ),
  );
  const live: LiveSystem[] = [];
  starts.forEach((s, i) => {
    const name = wanted[i] as SystemName;
    if (s.status === 'fulfilled') live.push(s.value);
    else {
      skipped[name] = `failed to start: ${(s.reason as Error).message}`;
      log(`${name}: ${skipped[name]}`);
    }
  });
  return live;
}

/** Unmeasured calls of every payload on every system, so the JIT has settled before pass 1. */
async function warmUp(
  live: LiveSystem[],
  mode: ModeConfig,
  skipped: Partial<Record<SystemName, string>>,
  log: Log,
): Promise<LiveSystem[]> {
  const ok: LiveSystem[] = [];
  for (const sys of live) {
    try {
      const ids = ['c16-64B', 'c16-4K', 'echo-1M', 'lb-64B', 'c256-64B'];
      for (const id of ids.filter((c) => measuredIn(sys.name, c)).slice(0, 4)) {
        const def = CASES.find((c) => c.id === id) as CaseDef;
        await run(sys, { ...specOf(def), durationMs: mode.initialWarmupMs, recordLatency: false });
      }
      ok.push(sys);
    } catch (err) {
      skipped[sys.name] = `failed during warm-up: ${(err as Error).message}`;
      log(`${sys.name}: ${skipped[sys.name]}`);
      await stopSystem(sys);
    }
  }
  return ok;
}

function specOf(def: CaseDef): Omit<RunSpec, 'durationMs'> {
  return {
    payload: def.payload,
    concurrency: def.concurrency,
    balanced: def.balanced,
    recordLatency: def.recordLatency,
  };
}

/** One pass: every case on every system, the first system rotating with the pass number. */
async function runPass(
  live: LiveSystem[],
  cases: readonly CaseDef[],
  pass: number,
  mode: ModeConfig,
  log: Log,
) {
  const measurements: Measurement[] = [];
  for (const def of cases) {
    const order = live.map((_, i) => live[(i + pass) % live.length] as LiveSystem);
    const line: string[] = [];
    for (const sys of order) {
      if (!measuredIn(sys.name, def.id)) continue;
      try {
        const m = await measure(sys, def, mode);
        m.pass = pass;
        measurements.push(m);
        line.push(`${sys.name} ${rate(m.result)}`);
      } catch (err) {
        const error = (err as Error).message;
        measurements.push({ caseId: def.id, system: sys.name, pass, error });
        line.push(`${sys.name} FAILED`);
        log(`${sys.name} ${def.id}: ${error}`);
      }
    }
    log(`pass ${pass + 1}/${mode.passes} ${def.id.padEnd(9)} ${line.join('  ')}`);
  }
  return measurements;
}

/** Runs passes until done or until one more would overrun the time budget. */
async function runPasses(
  live: LiveSystem[],
  cases: readonly CaseDef[],
  mode: ModeConfig,
  t0: number,
  log: Log,
) {
  const measurements: Measurement[] = [];
  let longest = 0;
  let passesDone = 0;
  let stoppedEarly: string | undefined;
  for (let pass = 0; pass < mode.passes; pass++) {
    const start = Date.now();
    if (passesDone > 0 && start - t0 + longest > mode.budgetMs) {
      stoppedEarly = `stopped after ${passesDone} of ${mode.passes} passes to stay within the time budget`;
      log(stoppedEarly);
      break;
    }
    measurements.push(...(await runPass(live, cases, pass, mode, log)));
    longest = Math.max(longest, Date.now() - start);
    passesDone++;
  }
  return { measurements, passesDone, stoppedEarly };
}

/**
 * Writes bench/results/latest.json and, unless told not to, the docs. A `--cases` run is partial,
 * so it goes to bench/results/cases.raw.json (not committed) and never over the full results.
 */
function writeResults(results: BenchResults, partial: boolean, docs: boolean, log: Log): void {
  mkdirSync(new URL('bench/results/', ROOT), { recursive: true });
  const name = partial ? 'cases.raw.json' : 'latest.json';
  const file = new URL(`bench/results/${name}`, ROOT);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  if (!partial) formatJson(file);
  if (docs && !partial) {
    mkdirSync(new URL('docs/', ROOT), { recursive: true });
    writeDocs(results);
  }
  log(
    `wrote bench/results/${name}${docs && !partial ? ', docs/benchmarks.md, docs/benchmarks.svg' : ''}`,
  );
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const mode: ModeConfig = { ...MODES[opts.quick ? 'quick' : 'full'] };
  if (opts.passes) mode.passes = opts.passes;
  if (opts.durationMs) mode.durationMs = opts.durationMs;
  installCleanup(mode.hardDeadlineMs);
  const only = opts.cases;
  const cases = only ? CASES.filter((c) => only.includes(c.id)) : CASES;
  const startedAt = new Date();
  const loadBefore = os.loadavg().map((l) => Math.round(l * 100) / 100);
  const t0 = Date.now();
  const log: Log = (line) =>
    console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${line}`);
  log(
    `bench: ${opts.quick ? 'quick' : 'full'} run, ${mode.passes} passes × ${cases.length} cases, ` +
      `${mode.durationMs} ms per measurement (+${mode.warmupMs} ms warm-up), Node.js ${process.version}`,
  );

  const skipped: Partial<Record<SystemName, string>> = {};
  let wanted = opts.systems;
  const lib = wanted.includes('rpclb') ? await loadRpclb() : undefined;
  if (lib && 'missing' in lib) {
    skipped.rpclb = lib.missing;
    log(`skipping rpc-load-balancer: ${lib.missing}`);
    wanted = wanted.filter((s) => s !== 'rpclb');
  }
  let live = await startSystems(wanted, skipped, log);
  if (!live.some((s) => s.name === 'floor')) throw new Error('the floor did not start; aborting');
  log(`started ${live.map((s) => s.name).join(', ')} (${liveChildren()} processes)`);
  live = await warmUp(live, mode, skipped, log);
  log('warmed up');
  const { measurements, passesDone, stoppedEarly } = await runPasses(live, cases, mode, t0, log);
  await Promise.all(live.map(stopSystem));
  let picks: PicksReport = { rows: [], floor: [], missing: 'not run (--cases given)' };
  let membership: MembershipReport = { missing: 'not run (--cases given)' };
  if (!only) {
    log('systems stopped; per-pick benchmark');
    picks = await runPicks(opts.quick);
    if (picks.missing) log(picks.missing);
    log('membership benchmark');
    const membershipDeadline = t0 + mode.hardDeadlineMs - RESULTS_RESERVE_MS;
    membership = await runMembership(opts.quick, membershipDeadline, log);
  }

  const extra = process.argv.slice(2).filter((a) => a !== '--quick');
  const results: BenchResults = {
    mode: opts.quick ? 'quick' : 'full',
    command: `npm run ${opts.quick ? 'bench:quick' : 'bench'}${extra.length ? ` -- ${extra.join(' ')}` : ''}`,
    startedAt: startedAt.toISOString(),
    durationS: Math.round((Date.now() - t0) / 1000),
    loadBefore,
    machine: machineInfo(),
    config: { ...mode, passesDone, ...(stoppedEarly ? { stoppedEarly } : {}) },
    payloadBytes: {
      small: encodedSize('small'),
      medium: encodedSize('medium'),
      large: encodedSize('large'),
    },
    cases: [...cases],
    systems: opts.systems,
    skipped,
    measurements,
    picks,
    membership,
  };
  writeResults(results, only !== undefined, opts.writeDocs, log);
  console.log(renderMarkdown(results, { summaryOnly: true }));
}

main().then(
  () => {
    killAll();
    process.exit(0);
  },
  (err: unknown) => {
    console.error('bench failed:', err);
    killAll();
    process.exit(1);
  },
);
