/**
 * Per-pick cost of every built-in selection algorithm, in nanoseconds per operation, at 10, 100
 * and 1 000 members, next to a floor measured in the same run: a bare
 * `nodes[(Math.random() * n) | 0]` with no algorithm around it.
 *
 * One operation is what a balancer does per call: `chooseFromNodes` and, for algorithms that
 * count in-flight selections, the matching `releaseNode`. `HashRing` is given a rotating set of
 * string keys generated before timing starts. Each algorithm, and the floor, runs in its own
 * worker thread (its own JIT state, as in an application with one algorithm), and they take
 * turns sample by sample; each figure is the median of several samples of many iterations,
 * after a warm-up, so the JIT has settled and one slow sample (GC, a context switch, a busy
 * neighbour) cannot move it.
 *
 * Run directly: `npm run build && node dist/bench/picks.js [--quick]`.
 */

import { pathToFileURL } from 'node:url';
import {
  isMainThread,
  type MessagePort,
  parentPort,
  Worker,
  workerData,
} from 'node:worker_threads';
import { algorithms } from '../src/algorithms/index.js';
import type {
  AlgorithmContext,
  CallOutcome,
  SelectionAlgorithm,
  SelectionAlgorithmClass,
  SelectOptions,
} from '../src/algorithms/types.js';

/** One measured row. */
export interface PickRow {
  /** Algorithm name, or `'floor (random index)'` for the bare random pick. */
  algorithm: string;
  /** Number of members picked from. */
  members: number;
  /** Median nanoseconds per select (+ release) over {@link PickRow.samples}. */
  nsPerOp: number;
  /** Nanoseconds per operation of each sample. */
  samples: number[];
}

/** Options of {@link runPickBench}. */
export interface PickBenchOptions {
  /** Fewer and shorter samples, for a smoke run. */
  quick: boolean;
}

/** Name of the floor rows. */
export const FLOOR = 'floor (random index)';
/** Member counts every algorithm is measured at. */
export const MEMBER_COUNTS = [10, 100, 1_000] as const;

/**
 * Target ns per operation at 1 000 members, per subject (see {@link SUBJECTS}). The subjects
 * measured are exactly these: `CallDirect` is left out, as it selects nothing (every call goes
 * to the local node).
 */
export const pickTargetsNs: Readonly<Record<string, number>> = Object.freeze({
  Random: 50,
  RoundRobin: 50,
  LeastConnections: 100,
  PowerOfTwo: 50,
  HashRing: 200,
  WeightedRoundRobin: 50,
  LeastLoaded: 250,
  ProbingLeastLoaded: 300,
  LeastCpu: 100,
  'HashRing balanceFactor 1.25': 250,
});

/** What a measured subject is: an algorithm of `algorithms`, how it is set up and released. */
interface PickSubject {
  /** Its class's name in `algorithms`. */
  algorithm: string;
  /** Its `algorithmOpts` at a member count. */
  options?: (nodes: readonly string[]) => Record<string, unknown>;
  /** Picks by key (a rotating set of string keys). */
  keyed?: boolean;
  /**
   * What a release reports, as `lb.call` would: `latency` = `{ ok, latencyMs }`, `load` = that
   * and, on one release in 64, a server load trailer (see `releaseOutcomes`). Without it,
   * `releaseNode(node)` alone.
   */
  outcome?: 'latency' | 'load';
}

/**
 * Every subject of the pick table. The adaptive ones are released with an outcome, since that
 * (learning a latency, a load) is part of their per-call cost in `lb.call`; the probing ones get
 * a probe function that does nothing, so a pick pays for choosing whom to probe.
 */
const SUBJECTS: Readonly<Record<string, PickSubject>> = Object.freeze({
  Random: { algorithm: 'Random' },
  RoundRobin: { algorithm: 'RoundRobin' },
  LeastConnections: { algorithm: 'LeastConnections' },
  PowerOfTwo: { algorithm: 'PowerOfTwo' },
  HashRing: { algorithm: 'HashRing', keyed: true },
  WeightedRoundRobin: {
    algorithm: 'WeightedRoundRobin',
    // mixed weights 1..5, so the schedule is a real interleaving rather than plain round robin
    options: (nodes) => ({ weights: Object.fromEntries(nodes.map((n, i) => [n, 1 + (i % 5)])) }),
  },
  LeastLoaded: { algorithm: 'LeastLoaded', outcome: 'load' },
  ProbingLeastLoaded: { algorithm: 'ProbingLeastLoaded', outcome: 'load' },
  LeastCpu: { algorithm: 'LeastCpu', outcome: 'load' },
  'HashRing balanceFactor 1.25': {
    algorithm: 'HashRing',
    keyed: true,
    options: () => ({ balanceFactor: 1.25 }),
  },
});
/** Power of two, so the rotating option index is a mask. */
const KEY_COUNT = 1_024;

/**
 * Written after every sample, so V8 must compute every pick's result: the work cannot be
 * eliminated as dead code.
 */
export const sink = { value: 0 };

function memberNames(n: number): readonly string[] {
  const names = Array.from({ length: n }, (_, i) => `node-${i}@10.0.${i >> 8}.${i & 255}`);
  return Object.freeze(names.sort());
}

function selectOptions(subject: PickSubject): SelectOptions[] {
  if (subject.keyed !== true) return new Array<SelectOptions>(KEY_COUNT).fill({});
  return Array.from({ length: KEY_COUNT }, (_, i) => ({ key: `user-${i * 7919}` }));
}

/** A trailer the bench can restamp (the library's `ServerLoad` is read-only). */
interface Trailer {
  inFlight: number;
  elu: number;
  at: number;
}

/**
 * Outcomes to release with, latencies 1..8 ms. With `load`, one release in 64 carries a load
 * trailer, restamped at the start of each sample (servers send one at most every 100 ms per
 * connection, so most replies carry none).
 */
function releaseOutcomes(subject: PickSubject): {
  outcomes: Array<CallOutcome | undefined>;
  trailers: Trailer[];
} {
  const trailers: Trailer[] = [];
  if (subject.outcome === undefined) {
    return { outcomes: new Array<undefined>(KEY_COUNT).fill(undefined), trailers };
  }
  const outcomes = Array.from({ length: KEY_COUNT }, (_, i): CallOutcome => {
    const latencyMs = 1 + (i & 7);
    if (subject.outcome === 'latency' || i % 64 !== 0) return { ok: true, latencyMs };
    const load: Trailer = { inFlight: i & 3, elu: (i % 10) / 10, at: 0 };
    trailers.push(load);
    return { ok: true, latencyMs, load };
  });
  return { outcomes, trailers };
}

/** Times `iterations` select (+ release) operations; returns ns per operation. */
function timeAlgorithm(
  algo: SelectionAlgorithm,
  nodes: readonly string[],
  opts: SelectOptions[],
  { outcomes, trailers }: ReturnType<typeof releaseOutcomes>,
  iterations: number,
): number {
  const mask = opts.length - 1;
  const now = performance.now();
  for (const trailer of trailers) trailer.at = now;
  let acc = 0;
  const start = process.hrtime.bigint();
  if (algo.releaseNode !== undefined) {
    for (let i = 0; i < iterations; i++) {
      const node = algo.chooseFromNodes(nodes, opts[i & mask]);
      algo.releaseNode(node, outcomes[i & mask]);
      acc += node.length;
    }
  } else {
    for (let i = 0; i < iterations; i++) acc += algo.chooseFromNodes(nodes, opts[i & mask]).length;
  }
  const elapsed = process.hrtime.bigint() - start;
  sink.value ^= acc;
  return Number(elapsed) / iterations;
}

/** Times the floor: a bare random index into the member array, inlined, no call. */
function timeFloor(nodes: readonly string[], iterations: number): number {
  const n = nodes.length;
  let acc = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) acc += nodes[(Math.random() * n) | 0].length;
  const elapsed = process.hrtime.bigint() - start;
  sink.value ^= acc;
  return Number(elapsed) / iterations;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function construct(Algo: SelectionAlgorithmClass, options: Record<string, unknown>) {
  const context: AlgorithmContext = {
    balancerName: 'bench',
    options,
    random: Math.random,
    now: () => performance.now(),
    probe: () => {},
  };
  return new Algo(context);
}

/** What one worker measures: an algorithm's name, or {@link FLOOR}. */
interface WorkerData {
  picksWorker: true;
  subject: string;
  iterations: number;
}

/**
 * Inside a worker: builds the subject at every member count, warms each up, then answers
 * "one sample at N members" requests with ns per operation.
 */
function serveSamples(data: WorkerData, port: MessagePort): void {
  const samplers = new Map<number, () => number>();
  for (const members of MEMBER_COUNTS) {
    const nodes = memberNames(members);
    if (data.subject === FLOOR) {
      samplers.set(members, () => timeFloor(nodes, data.iterations));
      continue;
    }
    const subject = SUBJECTS[data.subject] as PickSubject;
    const Algo = (algorithms as Record<string, SelectionAlgorithmClass>)[subject.algorithm];
    const algo = construct(Algo, subject.options?.(nodes) ?? {});
    algo.onNodeChange?.({ type: 'join', nodes, members: nodes });
    const selectOpts = selectOptions(subject);
    const outcomes = releaseOutcomes(subject);
    samplers.set(members, () => timeAlgorithm(algo, nodes, selectOpts, outcomes, data.iterations));
  }
  // warm-up: the JIT tiers up and caches (rings, schedules) are built before any sample counts
  for (const sample of samplers.values()) sample();
  port.on('message', (members: number) => {
    port.postMessage((samplers.get(members) as () => number)());
  });
  port.postMessage('ready');
}

/** One worker thread measuring one subject. */
class SampleWorker {
  readonly #worker: Worker;
  readonly ready: Promise<void>;

  constructor(
    readonly subject: string,
    iterations: number,
  ) {
    const workerData: WorkerData = { picksWorker: true, subject, iterations };
    this.#worker = new Worker(new URL(import.meta.url), { workerData });
    this.ready = this.#next().then(() => undefined);
  }

  /** One sample at `members` members, in ns per operation. */
  sample(members: number): Promise<number> {
    const reply = this.#next();
    this.#worker.postMessage(members);
    return reply as Promise<number>;
  }

  stop(): Promise<number> {
    return this.#worker.terminate();
  }

  #next(): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        this.#worker.off('message', onMessage);
        reject(err);
      };
      const onMessage = (value: unknown) => {
        this.#worker.off('error', onError);
        resolve(value);
      };
      this.#worker.once('message', onMessage);
      this.#worker.once('error', onError);
    });
  }
}

/**
 * Measures every built-in algorithm at 10, 100 and 1 000 members, plus the floor.
 *
 * Each subject (every algorithm, and the floor) runs in its own worker thread, so its code is
 * compiled for it alone, as in an application whose balancer uses one algorithm: measured in one
 * shared loop, the `chooseFromNodes` call site sees six classes, goes megamorphic and adds its
 * own dispatch cost to every algorithm measured after the first. Only one worker measures at a
 * time, and the subjects take turns sample by sample (A B C … A B C …), so a slow moment of the
 * machine lands on all of them rather than on one.
 *
 * @example
 * ```ts
 * const rows = await runPickBench({ quick: false });
 * console.table(rows.map(({ algorithm, members, nsPerOp }) => ({ algorithm, members, nsPerOp })));
 * ```
 */
export async function runPickBench(opts: PickBenchOptions): Promise<PickRow[]> {
  const iterations = opts.quick ? 100_000 : 1_000_000;
  const samples = opts.quick ? 5 : 9;
  const subjects = [FLOOR, ...Object.keys(SUBJECTS).filter((n) => Object.hasOwn(pickTargetsNs, n))];
  const workers = subjects.map((subject) => new SampleWorker(subject, iterations));
  try {
    await Promise.all(workers.map((w) => w.ready));
    const values = new Map<string, number[]>();
    for (let round = 0; round < samples; round++) {
      for (const members of MEMBER_COUNTS) {
        for (let k = 0; k < workers.length; k++) {
          const worker = workers[(k + round) % workers.length] as SampleWorker;
          const key = `${worker.subject}\n${members}`;
          const list = values.get(key) ?? [];
          list.push(await worker.sample(members));
          values.set(key, list);
        }
      }
    }
    const rows: PickRow[] = [];
    for (const members of MEMBER_COUNTS) {
      for (const subject of subjects) {
        const list = values.get(`${subject}\n${members}`) ?? [];
        rows.push({
          algorithm: subject,
          members,
          nsPerOp: median(list),
          samples: list.map((v) => Math.round(v * 100) / 100),
        });
      }
    }
    return rows;
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

/** Renders rows as a Markdown table: one line per algorithm, one column per member count. */
export function formatPickTable(rows: readonly PickRow[]): string {
  const names = [...new Set(rows.map((r) => r.algorithm))];
  const header = `| algorithm | ${MEMBER_COUNTS.map((m) => `${m} members`).join(' | ')} |`;
  const rule = `|---|${MEMBER_COUNTS.map(() => '---:').join('|')}|`;
  const lines = names.map((name) => {
    const cells = MEMBER_COUNTS.map((m) => {
      const row = rows.find((r) => r.algorithm === name && r.members === m);
      return row === undefined ? '' : `${row.nsPerOp.toFixed(1)} ns`;
    });
    return `| ${name} | ${cells.join(' | ')} |`;
  });
  return [header, rule, ...lines].join('\n');
}

const data = workerData as Partial<WorkerData> | null;
if (!isMainThread && data?.picksWorker === true && parentPort !== null) {
  serveSamples(data as WorkerData, parentPort);
} else if (
  process.argv[1] !== undefined &&
  import.meta.url === pathToFileURL(process.argv[1]).href
) {
  const quick = process.argv.includes('--quick');
  const rows = await runPickBench({ quick });
  console.log(`Per-pick cost, select + release, ns/op (median of ${quick ? 5 : 9} samples)`);
  console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
  console.log(formatPickTable(rows));
  if (sink.value === 0.5) console.log('unreachable'); // reads the sink: the work stays observable
}
