/**
 * What `npm run bench:balance` measures: the scenarios, the contenders, the modes, and the
 * command-line options that pick among them.
 */
import { type Behaviour, capacityOf } from './model.js';
import { type Contender, FAMILIES, type Family } from './types.js';

export const SCENARIO_IDS = ['equal', 'one_slow', 'fast_fail', 'degrade', 'kill'] as const;
export type ScenarioId = (typeof SCENARIO_IDS)[number];

export interface Scenario {
  id: ScenarioId;
  title: string;
  /** A few words, for the chart. */
  short: string;
  /** One sentence for the report. */
  what: string;
  /** Service-time multiplier of worker 0 all along. */
  slowFactor?: number;
  /** Share of worker 0's calls that fail at once. */
  failP?: number;
  /** Worker 0's multiplier from the middle of the measured window on. */
  degradeTo?: number;
  /** Worker 0 is killed (SIGKILL) during the measured window and a fresh one started. */
  kill?: boolean;
  /** When the mid-run event happens, as a fraction of the measured window. */
  eventAt?: number;
}

export const SCENARIOS: Record<ScenarioId, Scenario> = {
  equal: { id: 'equal', title: 'Equal workers', short: 'equal workers', what: 'all workers alike' },
  one_slow: {
    id: 'one_slow',
    title: 'One worker 5× slower',
    short: 'one 5× slower',
    what: 'w0 takes 5× the mean service time all along',
    slowFactor: 5,
  },
  fast_fail: {
    id: 'fast_fail',
    title: 'One worker failing 30 % of calls at once',
    short: 'one failing 30 % fast',
    what: 'w0 fails 30 % of its calls immediately (no queueing, no service time)',
    failP: 0.3,
  },
  degrade: {
    id: 'degrade',
    title: 'One worker degrading 10× mid-run',
    short: 'one 10× slower mid-run',
    what: 'from the middle of the measured window on, w0 takes 10× as long',
    degradeTo: 10,
    eventAt: 0.5,
  },
  kill: {
    id: 'kill',
    title: 'One worker killed, a fresh one started',
    short: 'one killed, one started',
    what: 'a third into the measured window, w0 is killed with SIGKILL and a new w0 process is started (it joins when it is up)',
    kill: true,
    eventAt: 1 / 3,
  },
};

/** The model's parameters, as configured for a run. */
export interface ModelConfig {
  workers: number;
  /** Mean service time of a normal worker (ms). */
  meanMs: number;
  /** Offered load as a fraction of the workers' total capacity at the start. */
  util: number;
  slots: number;
  timeoutMs: number;
}

/** Each worker's behaviour in `scenario` at the start of a measurement. */
export function behaviours(scenario: Scenario, model: ModelConfig, seed: number): Behaviour[] {
  return Array.from({ length: model.workers }, (_, slot) => ({
    meanMs: model.meanMs,
    factor: slot === 0 ? (scenario.slowFactor ?? 1) : 1,
    failP: slot === 0 ? (scenario.failP ?? 0) : 0,
    slots: model.slots,
    seed: (seed * 7919 + slot * 104_729 + 1) >>> 0,
  }));
}

/** Total arrival rate (calls/s) for `util` of the workers' capacity. */
export function totalRate(workers: readonly Behaviour[], model: ModelConfig): number {
  const capacity = workers.reduce((sum, b) => sum + capacityOf(b), 0);
  return (model.util * capacity * 1000) / model.meanMs;
}

/**
 * rpc-load-balancer rows beyond one per exported algorithm: variants with options, one line each
 * (`algorithmOpts` for the algorithm, `balancerOpts` for `startLoadBalancer`). A variant whose
 * algorithm is not exported is left out.
 */
export const RPCLB_VARIANTS: readonly Omit<Contender, 'id' | 'family'>[] = [
  // Slow start (defaults: 10 s from 10 %): what a fresh worker gets when it joins mid-run.
  { label: 'LeastLoaded +slowStart', algorithm: 'LeastLoaded', algorithmOpts: { slowStart: {} } },
];

export const MOLECULER_STRATEGIES = ['RoundRobin', 'CpuUsage', 'Latency'] as const;
export const NATS_LABEL = 'queue group';

/** Every contender: each export of `algorithms` but CallDirect, the variants, Moleculer, NATS. */
export function allContenders(algorithmNames: readonly string[]): Contender[] {
  const rpclb: Contender[] = algorithmNames
    .filter((name) => name !== 'CallDirect')
    .map((name) => ({ id: `rpclb:${name}`, family: 'rpclb', label: name, algorithm: name }));
  for (const v of RPCLB_VARIANTS) {
    if (algorithmNames.includes(v.algorithm ?? '')) {
      rpclb.push({ ...v, id: `rpclb:${v.label}`, family: 'rpclb' });
    }
  }
  return [
    ...rpclb,
    ...MOLECULER_STRATEGIES.map(
      (strategy): Contender => ({
        id: `moleculer:${strategy}`,
        family: 'moleculer',
        label: strategy,
        strategy,
      }),
    ),
    { id: `nats:${NATS_LABEL}`, family: 'nats', label: NATS_LABEL },
  ];
}

/**
 * The contender as it runs in `scenario`: key-aware algorithms get a key per call, and
 * WeightedRoundRobin gets the true static speeds where they are known in advance (the slow
 * worker 1, the others 5, as in the simulator); elsewhere its weights stay 1.
 */
export function specialise(c: Contender, scenario: Scenario, names: readonly string[]): Contender {
  if (c.family !== 'rpclb') return c;
  const out: Contender = { ...c };
  if (c.algorithm === 'HashRing') out.keyed = true;
  if (c.algorithm === 'WeightedRoundRobin' && scenario.slowFactor !== undefined) {
    const weights: Record<string, number> = {};
    names.forEach((name, slot) => {
      weights[name] = slot === 0 ? 1 : (scenario.slowFactor ?? 1);
    });
    out.algorithmOpts = { ...c.algorithmOpts, weights };
  }
  return out;
}

export interface Mode {
  callers: number[];
  warmupMs: number;
  /** Measured window per contender; fitted into `targetMs` unless given with --duration. */
  durationMs: number;
  /** The shortest window the fitting may choose. */
  minDurationMs: number;
  /** Unmeasured load per system right after start-up, so no contender pays for the JIT. */
  initialWarmupMs: number;
  /** What the whole run should take; the windows are shortened to fit (see fitDuration). */
  targetMs: number;
  /** Past this (from the start), the remaining measurements are skipped. */
  budgetMs: number;
  /** Past this, the run is aborted and every process killed. */
  hardDeadlineMs: number;
}

export const MODES: Record<'full' | 'quick', Mode> = {
  full: {
    callers: [1, 4],
    warmupMs: 400,
    durationMs: 2_500,
    minDurationMs: 1_200,
    initialWarmupMs: 3_000,
    targetMs: 7 * 60_000,
    budgetMs: 8.5 * 60_000,
    hardDeadlineMs: 9.5 * 60_000,
  },
  quick: {
    callers: [4],
    warmupMs: 150,
    durationMs: 600,
    minDurationMs: 350,
    initialWarmupMs: 600,
    targetMs: 85_000,
    budgetMs: 100_000,
    hardDeadlineMs: 115_000,
  },
};

/**
 * Time a run spends besides the measured windows: starting the processes, and per measurement
 * the warm-up, switching contenders, waiting for late replies and resetting the workers; after a
 * kill, Moleculer's callers take seconds to see the fresh worker (gossip).
 */
const STARTUP_MS = 35_000;
const OVERHEAD_PER_MEASUREMENT_MS = 600;
const MOLECULER_REJOIN_MS = 8_000;

/** The window that fits `count` measurements (`kills` of them Moleculer kills) into the target. */
export function fitDuration(mode: Mode, count: number, moleculerKills: number): number {
  const spare = mode.targetMs - STARTUP_MS - moleculerKills * MOLECULER_REJOIN_MS;
  const each = spare / Math.max(count, 1) - mode.warmupMs - OVERHEAD_PER_MEASUREMENT_MS;
  return Math.round(Math.min(mode.durationMs, Math.max(mode.minDurationMs, each)));
}

export const DEFAULT_MODEL: ModelConfig = {
  workers: 8,
  meanMs: 5,
  util: 0.7,
  slots: 1,
  timeoutMs: 1_000,
};

export interface Options {
  quick: boolean;
  mode: Mode;
  model: ModelConfig;
  families: Family[];
  /** Contender labels to keep (all when absent). */
  algorithms?: string[];
  scenarios: ScenarioId[];
  writeDocs: boolean;
  /** Any filter given: the run is partial (raw results only, no docs). */
  partial: boolean;
  /** Where the raw (progressive) results go; default bench/results/balance.raw.json. */
  out?: string;
  /** --duration was given: no fitting. */
  fixedDuration: boolean;
}

function list<T extends string>(value: string, allowed: readonly T[], what: string): T[] {
  const items = value.split(',').filter((s) => s.length > 0);
  const unknown = items.filter((s) => !allowed.includes(s as T));
  if (unknown.length > 0 || items.length === 0) {
    throw new Error(
      `unknown ${what}: ${unknown.join(', ') || '(none)'}; known: ${allowed.join(', ')}`,
    );
  }
  return items as T[];
}

function positive(value: string, what: string): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n))
    throw new Error(`${what} must be a positive number, got '${value}'`);
  return n;
}

export function parseArgs(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const opts: Options = {
    quick,
    mode: { ...MODES[quick ? 'quick' : 'full'] },
    model: { ...DEFAULT_MODEL },
    families: [...FAMILIES],
    scenarios: [...SCENARIO_IDS],
    writeDocs: true,
    partial: false,
    fixedDuration: false,
  };
  for (const arg of argv) {
    const eq = arg.indexOf('=');
    const key = eq < 0 ? arg : arg.slice(0, eq);
    const value = eq < 0 ? '' : arg.slice(eq + 1);
    if (key === '--quick') continue;
    if (key === '--no-docs') opts.writeDocs = false;
    else if (key === '--systems') opts.families = list(value, FAMILIES, 'system(s)');
    else if (key === '--algorithms') opts.algorithms = value.split(',').filter(Boolean);
    else if (key === '--scenarios') opts.scenarios = list(value, SCENARIO_IDS, 'scenario(s)');
    else if (key === '--callers') {
      opts.mode.callers = value.split(',').map((v) => Math.round(positive(v, '--callers')));
    } else if (key === '--duration') {
      opts.mode.durationMs = positive(value, '--duration');
      opts.fixedDuration = true;
    } else if (key === '--warmup') opts.mode.warmupMs = positive(value, '--warmup');
    else if (key === '--mean-ms') opts.model.meanMs = positive(value, '--mean-ms');
    else if (key === '--util') opts.model.util = positive(value, '--util');
    else if (key === '--slots') opts.model.slots = Math.round(positive(value, '--slots'));
    else if (key === '--timeout') opts.model.timeoutMs = positive(value, '--timeout');
    else if (key === '--out') opts.out = value;
    else throw new Error(`unknown option ${arg} (see the header of bench/balance.ts)`);
    if (['--systems', '--algorithms', '--scenarios', '--callers'].includes(key)) {
      opts.partial = true;
    }
  }
  if (opts.partial) opts.writeDocs = false;
  return opts;
}
