/**
 * Balancing under faults, on real processes: which system keeps the tail short when a worker
 * misbehaves? Eight worker processes per system on 127.0.0.1 serve calls with a modelled service
 * time (they wait, they do not spin: bench/balance/model.ts), 1 or 4 caller processes send
 * open-loop Poisson load at a fraction of the workers' capacity, and every rpc-load-balancer
 * algorithm, Moleculer's strategies and NATS queue groups are measured in turn, alternating, in
 * five scenarios (bench/balance/scenarios.ts).
 *
 *   npm run bench:balance            full run (~7 min): bench/results/balance.json and the
 *                                    "Balancing under faults" section of docs/benchmarks.md
 *   npm run bench:balance -- --quick quick run (< 2 min): 4 callers only, shorter windows
 *
 * Options (after `--`):
 *   --systems=rpclb,moleculer,nats   --algorithms=LeastConnections,Latency,...  (contender labels)
 *   --scenarios=equal,one_slow,fast_fail,degrade,kill   --callers=1,4
 *   --duration=MS --warmup=MS (per measurement)   --mean-ms=2 --util=0.7 --slots=1 --timeout=1000
 *   --no-docs   --out=PATH (raw results file)
 * A run narrowed by --systems, --algorithms, --scenarios or --callers is partial: it writes only
 * the raw file (bench/results/balance.raw.json, not committed), never the docs.
 * Every result so far is written to the raw file after each measurement.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { FamilyCluster } from './balance/cluster.js';
import type { Behaviour } from './balance/model.js';
import {
  findNatsServer,
  NATS_PACKAGE,
  type NatsServer,
  startNatsServer,
} from './balance/nats-server.js';
import { writeBalanceDocs, writeBalanceResults } from './balance/report.js';
import {
  type BalanceMeasurement,
  type BalanceResults,
  failedMeasurement,
  summarise,
} from './balance/results.js';
import {
  allContenders,
  behaviours,
  fitDuration,
  type Options,
  parseArgs,
  SCENARIOS,
  type Scenario,
  specialise,
  totalRate,
} from './balance/scenarios.js';
import type { Contender, Family } from './balance/types.js';
import { machineInfo, ROOT } from './lib/machine.js';
import { installCleanup, killAll, liveChildren } from './lib/procs.js';
import { loadRpclb } from './lib/rpclb-api.js';

type Log = (line: string) => void;

const loadavg = () => os.loadavg().map((l) => Math.round(l * 100) / 100);

/** The contenders of this run, and the systems or contenders left out, with the reason. */
async function contendersFor(opts: Options, skipped: Record<string, string>) {
  const lib = await loadRpclb();
  const names = 'missing' in lib ? [] : Object.keys(lib.algorithms);
  if ('missing' in lib) skipped.rpclb = lib.missing;
  let all = allContenders(names);
  if (opts.algorithms) {
    const wanted = opts.algorithms;
    const unknown = wanted.filter((a) => !all.some((c) => c.label === a));
    if (unknown.length > 0) {
      throw new Error(
        `unknown algorithm(s): ${unknown.join(', ')}; known: ${all.map((c) => c.label).join(', ')}`,
      );
    }
    all = all.filter((c) => wanted.includes(c.label));
  }
  return all.filter((c) => opts.families.includes(c.family) && !skipped[c.family]);
}

/** Starts nats-server (if NATS is wanted and installed) and each wanted system's processes. */
async function startSystems(
  opts: Options,
  contenders: Contender[],
  skipped: Record<string, string>,
  log: Log,
): Promise<{ clusters: Map<Family, FamilyCluster>; nats?: NatsServer }> {
  let nats: NatsServer | undefined;
  if (contenders.some((c) => c.family === 'nats')) {
    const binary = findNatsServer();
    if (!binary) skipped.nats = `nats-server not found (apt-get install -y ${NATS_PACKAGE})`;
    else nats = await startNatsServer(binary);
    log(
      nats ? `nats-server ${nats.version} on ${nats.url} (pid ${nats.pid})` : (skipped.nats ?? ''),
    );
  }
  const equal = behaviours(SCENARIOS.equal, opts.model, 0);
  const callers = Math.max(...opts.mode.callers);
  const families = [...new Set(contenders.map((c) => c.family))].filter((f) => !skipped[f]);
  const clusters = new Map<Family, FamilyCluster>();
  const strategies = [
    ...new Set(contenders.filter((c) => c.strategy).map((c) => c.strategy as string)),
  ];
  // One system at a time: starting ~40 processes at once on a small machine times some out.
  for (const family of families) {
    try {
      const cluster = await FamilyCluster.start(family, equal, callers, nats?.url, strategies);
      clusters.set(family, cluster);
    } catch (err) {
      skipped[family] = `failed to start: ${(err as Error).message}`;
      log(`${family}: ${skipped[family]}`);
    }
  }
  return { clusters, ...(nats ? { nats } : {}) };
}

/** One contender in one scenario with `callers` callers. */
async function measure(
  cluster: FamilyCluster,
  scenario: Scenario,
  callers: number,
  contender: Contender,
  order: number,
  opts: Options,
): Promise<BalanceMeasurement> {
  const { model, mode } = opts;
  const seed = scenarioSeed(scenario.id, callers);
  const start = behaviours(scenario, model, seed);
  await cluster.reset(start);
  const special = specialise(contender, scenario, cluster.names());
  const prepareMs = await cluster.prepare(callers, special);
  const rate = totalRate(start, model);
  const specs = Array.from({ length: callers }, (_, i) => ({
    ratePerSec: rate / callers,
    warmupMs: mode.warmupMs,
    durationMs: mode.durationMs,
    timeoutMs: model.timeoutMs,
    seed: seed * 31 + i + 1,
  }));
  const eventAt = mode.warmupMs + mode.durationMs * (scenario.eventAt ?? 0.5);
  const timers: NodeJS.Timeout[] = [];
  // Workers count the calls they receive; the counts at the start of the window are subtracted.
  const startCounts = new Promise<(number | undefined)[]>((resolve) => {
    timers.push(setTimeout(() => cluster.counts().then(resolve, () => resolve([])), mode.warmupMs));
  });
  const replaced = { done: Promise.resolve() };
  timers.push(
    setTimeout(() => {
      if (scenario.degradeTo) cluster.degrade(0, scenario.degradeTo).catch(() => {});
      if (scenario.kill) {
        replaced.done = cluster.killAndReplace(0, { ...(start[0] as Behaviour), seed: seed + 99 });
      }
    }, eventAt),
  );
  try {
    const results = await cluster.run(specs, special.keyed === true);
    await replaced.done;
    const received = await cluster.receivedSince(await startCounts);
    const stats = await cluster.stats();
    const base = {
      scenario: scenario.id,
      callers,
      contender: contender.id,
      order,
      ratePerSec: rate,
    };
    return summarise(base, results, stats, received, prepareMs, model.workers);
  } finally {
    for (const t of timers) clearTimeout(t);
    await cluster.settled().catch(() => {});
  }
}

function scenarioSeed(id: string, callers: number): number {
  let h = 2166136261;
  for (const ch of `${id}/${callers}`) h = Math.imul(h ^ (ch.codePointAt(0) as number), 16777619);
  return (h >>> 0) % 1_000_000;
}

function describeLine(m: BalanceMeasurement): string {
  const l = m.latencyMs;
  const lat = l
    ? `p50 ${l.p50.toFixed(1)} p99 ${l.p99.toFixed(1)} p99.9 ${l.p999.toFixed(1)} ms`
    : 'no replies';
  const err = `err ${(m.errorRate * 100).toFixed(2)}%`;
  return `${lat}  ${err}  w0 ${((m.shares[0] ?? 0) * 100).toFixed(1)}%`;
}

/** Unmeasured equal load on every system with its first contender, once, after start-up. */
async function warmUp(
  opts: Options,
  contenders: Contender[],
  clusters: Map<Family, FamilyCluster>,
  log: Log,
): Promise<void> {
  const callers = Math.max(...opts.mode.callers);
  const quickOpts = {
    ...opts,
    mode: { ...opts.mode, warmupMs: opts.mode.initialWarmupMs, durationMs: 100 },
  };
  for (const [family, cluster] of clusters) {
    const first = contenders.find((c) => c.family === family);
    if (!first) continue;
    try {
      await measure(cluster, SCENARIOS.equal, callers, first, 0, quickOpts);
    } catch (err) {
      log(`${family}: warm-up failed: ${(err as Error).message}`);
    }
  }
  log('warmed up');
}

async function runAll(
  opts: Options,
  contenders: Contender[],
  clusters: Map<Family, FamilyCluster>,
  t0: number,
  log: Log,
  save: (ms: BalanceMeasurement[], stoppedEarly?: string) => void,
) {
  const measurements: BalanceMeasurement[] = [];
  const live = contenders.filter((c) => clusters.has(c.family));
  let group = 0;
  let longest = 0;
  for (const id of opts.scenarios) {
    const scenario = SCENARIOS[id];
    for (const callers of opts.mode.callers) {
      // Alternate: each group starts with a different contender, so no contender is always the
      // one measured first (or right after a kill).
      const order = live.map((_, i) => live[(i + group) % live.length] as Contender);
      group++;
      for (const [i, contender] of order.entries()) {
        const elapsed = Date.now() - t0;
        if (elapsed + longest > opts.mode.budgetMs) {
          const why = `stopped after ${measurements.length} measurements to stay within the time budget`;
          log(why);
          save(measurements, why);
          return { measurements, stoppedEarly: why };
        }
        const cluster = clusters.get(contender.family) as FamilyCluster;
        const began = Date.now();
        let m: BalanceMeasurement;
        try {
          m = await measure(cluster, scenario, callers, contender, i, opts);
        } catch (err) {
          const base = { scenario: id, callers, contender: contender.id, order: i };
          m = failedMeasurement(base, (err as Error).message);
        }
        longest = Math.max(longest, Date.now() - began);
        measurements.push(m);
        save(measurements);
        log(
          `${id.padEnd(9)} ×${callers} ${contender.id.padEnd(30)} ${m.error ? `FAILED: ${m.error}` : describeLine(m)}`,
        );
      }
    }
  }
  return { measurements };
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  installCleanup(opts.mode.hardDeadlineMs);
  const t0 = Date.now();
  const startedAt = new Date();
  const loadBefore = loadavg();
  const log: Log = (line) =>
    console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${line}`);
  const skipped: Record<string, string> = {};
  const contenders = await contendersFor(opts, skipped);
  if (!opts.fixedDuration) {
    const count = contenders.length * opts.scenarios.length * opts.mode.callers.length;
    const kills = opts.scenarios.includes('kill')
      ? contenders.filter((c) => c.family === 'moleculer').length * opts.mode.callers.length
      : 0;
    opts.mode.durationMs = fitDuration(opts.mode, count, kills);
  }
  log(
    `bench:balance ${opts.quick ? 'quick' : 'full'}: ${contenders.length} contenders × ${opts.scenarios.length} scenarios × callers ${opts.mode.callers.join('/')}; ` +
      `${opts.model.workers} workers, mean ${opts.model.meanMs} ms, load ${opts.model.util * 100} %, ${opts.mode.durationMs} ms per measurement (+${opts.mode.warmupMs} ms warm-up); load average ${loadBefore.join(' / ')}`,
  );
  const { clusters, nats } = await startSystems(opts, contenders, skipped, log);
  log(`started ${[...clusters.keys()].join(', ')} (${liveChildren()} processes)`);
  const extra = process.argv.slice(2);
  const rawFile = opts.out
    ? new URL(opts.out, `file://${process.cwd()}/`)
    : new URL('bench/results/balance.raw.json', ROOT);
  const results = (measurements: BalanceMeasurement[], stoppedEarly?: string): BalanceResults => ({
    mode: opts.quick ? 'quick' : 'full',
    command: `npm run bench:balance${extra.length ? ` -- ${extra.join(' ')}` : ''}`,
    complete: !opts.partial,
    startedAt: startedAt.toISOString(),
    durationS: Math.round((Date.now() - t0) / 1000),
    loadBefore,
    loadAfter: loadavg(),
    machine: machineInfo(),
    natsServer: nats?.version ?? 'not run',
    model: opts.model,
    run: opts.mode,
    scenarios: opts.scenarios,
    contenders: contenders.filter((c) => clusters.has(c.family)),
    skipped,
    ...(stoppedEarly ? { stoppedEarly } : {}),
    measurements,
  });
  const save = (ms: BalanceMeasurement[], stoppedEarly?: string) => {
    mkdirSync(new URL('./', rawFile), { recursive: true });
    writeFileSync(rawFile, `${JSON.stringify(results(ms, stoppedEarly), null, 2)}\n`);
  };
  let outcome: Awaited<ReturnType<typeof runAll>>;
  try {
    await warmUp(opts, contenders, clusters, log);
    outcome = await runAll(opts, contenders, clusters, t0, log, save);
  } finally {
    for (const cluster of clusters.values()) await cluster.stop().catch(() => {});
    await nats?.stop().catch(() => {});
  }
  const final = results(outcome.measurements, outcome.stoppedEarly);
  save(final.measurements, final.stoppedEarly);
  log(`wrote ${fileURLToPath(rawFile)}`);
  if (!opts.partial) writeBalanceResults(final, log);
  if (!opts.partial && opts.writeDocs) writeBalanceDocs(final, log);
  log(`done in ${final.durationS} s; load average ${final.loadAfter.join(' / ')}`);
}

main().then(
  () => {
    killAll();
    process.exit(0);
  },
  (err: unknown) => {
    console.error('bench:balance failed:', err);
    killAll();
    process.exit(1);
  },
);
