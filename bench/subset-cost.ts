/**
 * What deterministic subsetting adds to a pick: `selectNode` + `releaseNode` through a real
 * balancer over 90 members, one of 10 callers, without `subset` (the algorithm chooses among all
 * 90) and with `subset: { minAperture: 12 }` (among its window of 12, with the share quota in
 * front). A group table in memory stands in for the node. Each algorithm runs in its own worker
 * thread (its own JIT state, as in an application with one algorithm, as in `picks.ts`). Run
 * with `npm run build && node dist/bench/subset-cost.js`; prints ns per select + release, the
 * median of 7 samples.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { algorithms } from '../src/algorithms/index.js';
import type { SelectionAlgorithmClass, ServerLoad } from '../src/algorithms/types.js';
import {
  type BalancerGroupChange,
  type BalancerHost,
  LoadBalancer,
} from '../src/balancer/load-balancer.js';
import { callersGroup } from '../src/balancer/subset-options.js';

const SAMPLES = 7;
const ITERATIONS = 500_000;
const MEMBERS = Array.from({ length: 90 }, (_, j) => `m${String(j).padStart(3, '0')}@10.0.0.1`);
const CALLERS = Array.from({ length: 10 }, (_, i) => `c${i}@10.0.0.2`);

/** A node stand-in: the groups set up front, nothing sent. */
function host(name: string): BalancerHost {
  const groups = new Map<string, readonly string[]>([
    ['work', Object.freeze(MEMBERS)],
    [callersGroup('work'), Object.freeze(CALLERS)],
  ]);
  const ignore = () => {};
  return {
    name,
    callTimeoutMs: 1_000,
    logger: { debug: ignore, info: ignore, warn: ignore, error: ignore },
    join: ignore,
    leave: ignore,
    members: (group) => groups.get(group) ?? [],
    observe: (_observer: (change: BalancerGroupChange) => void) => ignore,
    send: ignore,
    cast: () => Promise.resolve(),
    probe: () => Promise.reject(new Error('no probes')) as Promise<ServerLoad>,
  };
}

function nsPerPick(algorithm: SelectionAlgorithmClass, subset: boolean): number {
  const lb = new LoadBalancer(
    host(CALLERS[3] as string),
    { name: 'work', nodeMatchList: [], subset, outlierDetection: false },
    algorithm,
  );
  const run = (n: number) => {
    for (let i = 0; i < n; i++) lb.releaseNode(lb.selectNode());
  };
  run(ITERATIONS / 2);
  const samples: number[] = [];
  for (let s = 0; s < SAMPLES; s++) {
    const started = process.hrtime.bigint();
    run(ITERATIONS);
    samples.push(Number(process.hrtime.bigint() - started) / ITERATIONS);
  }
  return samples.sort((a, b) => a - b)[SAMPLES >> 1] as number;
}

const subjects: Record<string, SelectionAlgorithmClass> = {
  Random: algorithms.Random,
  RoundRobin: algorithms.RoundRobin,
  LeastConnections: algorithms.LeastConnections,
  PowerOfTwo: algorithms.PowerOfTwo,
  LeastLoaded: algorithms.LeastLoaded,
  WeightedRoundRobin: algorithms.WeightedRoundRobin,
} as Record<string, SelectionAlgorithmClass>;

/** Both figures for one algorithm, in a worker of its own. */
function measure(name: string): Promise<[number, number]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: name });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

if (isMainThread) {
  console.log('ns per selectNode + releaseNode, 90 members, caller 3 of 10 (median of 7 samples)');
  console.log('| algorithm | all 90 members | subset (window of 12) |');
  console.log('|---|---|---|');
  for (const name of Object.keys(subjects)) {
    const [all, subset] = await measure(name);
    console.log(`| ${name} | ${all.toFixed(0)} | ${subset.toFixed(0)} |`);
  }
} else {
  const algorithm = subjects[workerData as string] as SelectionAlgorithmClass;
  parentPort?.postMessage([nsPerPick(algorithm, false), nsPerPick(algorithm, true)]);
}
