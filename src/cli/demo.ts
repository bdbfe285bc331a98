/**
 * `rpclb demo`: starts a local cluster of worker processes on 127.0.0.1 (one of them slow),
 * joins it as a node that only selects, drives the same load through each built-in algorithm in
 * turn, and shows how each one spread the calls.
 *
 * Processes are tracked by pid from the moment they are forked and stopped on every way out:
 * normal end, error, SIGINT/SIGTERM (exit 130/143), a closed output (`rpclb demo | head`, exit
 * 141 as for SIGPIPE), and, as a last resort, SIGKILLed from the `exit` handler. Workers also
 * exit by themselves when the demo's IPC channel closes.
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { type Dashboard, startDashboard } from '../dashboard/index.js';
import { algorithms, type LoadBalancer, type RpcNode, startNode } from '../index.js';
import type { DemoWorkerReady } from './demo-protocol.js';
import { type RunResult, RunStats } from './demo-stats.js';
import {
  createLiveView,
  formatComparison,
  formatTable,
  NodeLabels,
  type Output,
  TICK_MS,
} from './demo-view.js';
import { STARTUP_TIMEOUT_MS, Workers } from './demo-workers.js';
import {
  loadMetrics,
  type MetricsServer,
  MissingPromClient,
  startMetricsServer,
} from './metrics-server.js';

/** The algorithms the demo can run, in the order it runs them. */
export const DEMO_ALGORITHMS = [
  'Random',
  'RoundRobin',
  'LeastConnections',
  'PowerOfTwo',
  'LeastLoaded',
  'WeightedRoundRobin',
  'HashRing',
] as const;

export type DemoAlgorithm = (typeof DEMO_ALGORITHMS)[number];

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Worker processes to start; the last one is the slow one. @default 4 */
  nodes: number;
  /** How long each algorithm is driven, in ms. @default 3 000 */
  durationMs: number;
  /** Algorithms to run, in order. @default all of {@link DEMO_ALGORITHMS} */
  algorithms: readonly DemoAlgorithm[];
  /** Calls in flight at once. @default 32 */
  concurrency: number;
  /** Time a normal worker spends per call, in ms. @default 2 */
  workMs: number;
  /** Extra time the slow worker spends per call, in ms. @default 15 */
  slowMs: number;
  /** Serve the demo node's Prometheus metrics on 127.0.0.1:`metricsPort`/metrics while it runs. @default off */
  metricsPort?: number;
  /** Serve the live dashboard of the demo node on 127.0.0.1:`dashboardPort` while it runs (0: any free port). @default off */
  dashboardPort?: number;
}

export const DEMO_DEFAULTS: DemoOptions = Object.freeze({
  nodes: 4,
  durationMs: 3_000,
  algorithms: DEMO_ALGORITHMS,
  concurrency: 32,
  workMs: 2,
  slowMs: 15,
});

const HOST = '127.0.0.1';
/** The demo node is not a worker, so it stays out of every group and only selects. */
const WORKERS_ONLY = [/^worker\d+@/];
/** HashRing runs route `user-<0..KEYS-1>` keys. */
const KEYS = 1_000;
const FAST_WEIGHT = 3;
const SLOW_WEIGHT = 1;
const CALL_TIMEOUT_MS = 5_000;

/** The reason the demo's abort signal carries when a signal or a closed output stops it. */
class Interrupted extends Error {
  constructor(
    readonly why: keyof typeof EXIT_CODES,
    readonly exitCode: number,
  ) {
    super(`interrupted by ${why}`);
  }
}

const EXIT_CODES = { SIGINT: 130, SIGTERM: 143, EPIPE: 141 } as const;

const balancerName = (algorithm: DemoAlgorithm) => `demo-${algorithm}`;
const workerName = (i: number) => `worker${i}@${HOST}`;

/** Resolves once `check()` holds, polling every 20 ms; rejects on timeout or abort. */
async function waitUntil(check: () => boolean, what: string, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (!check()) {
    signal.throwIfAborted();
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs the demo, writing to `out`; resolves with the process exit code. */
export function runDemo(options: DemoOptions, out: Output = process.stdout): Promise<number> {
  return new Demo(options, out).run();
}

class Demo {
  readonly #controller = new AbortController();
  readonly #workers = new Workers(randomBytes(18).toString('base64url'));
  readonly #balancers = new Map<DemoAlgorithm, LoadBalancer>();
  readonly #names: string[];
  readonly #labels: NodeLabels;
  #node: RpcNode | undefined;
  #metrics: MetricsServer | undefined;
  #dashboard: Dashboard | undefined;
  #interruptedAt = 0;
  #outputGone = false;

  constructor(
    readonly options: DemoOptions,
    readonly out: Output,
  ) {
    // Every call in flight listens on the one abort signal: that many listeners are expected.
    setMaxListeners(options.concurrency + 16, this.#controller.signal);
    this.#names = Array.from({ length: options.nodes }, (_, i) => workerName(i + 1));
    this.#labels = new NodeLabels(this.#names, this.#names[this.#names.length - 1] as string);
  }

  async run(): Promise<number> {
    const onSignal = (signal: 'SIGINT' | 'SIGTERM') => this.#interrupt(signal);
    const onExit = () => this.#workers.killNow();
    const onOutputError = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.#outputClosed();
    };
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal).on('exit', onExit);
    this.out.on?.('error', onOutputError);
    let code: number;
    let metricsLib: Awaited<ReturnType<typeof loadMetrics>> | undefined;
    try {
      if (this.options.metricsPort !== undefined) metricsLib = await loadMetrics();
    } catch (err) {
      if (!(err instanceof MissingPromClient)) throw err;
      process.stderr.write(`rpclb demo: ${err.message}\n`);
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal).off('exit', onExit);
      return 1;
    }
    try {
      await this.#startCluster();
      if (metricsLib !== undefined) await this.#serveMetrics(metricsLib);
      if (this.options.dashboardPort !== undefined) await this.#serveDashboard();
      const results: RunResult[] = [];
      for (const algorithm of this.options.algorithms) {
        results.push(await this.#runAlgorithm(algorithm));
      }
      this.#report(results);
      code = 0;
    } catch (err) {
      const reason = this.#controller.signal.reason;
      if (reason instanceof Interrupted) code = reason.exitCode;
      else {
        process.stderr.write(`rpclb demo failed: ${(err as Error)?.stack ?? err}\n`);
        code = 1;
      }
    }
    await this.#shutdown();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal).off('exit', onExit);
    this.out.off?.('error', onOutputError);
    return code;
  }

  /** Nobody reads any more (`rpclb demo | head`): stop quietly, as a SIGPIPE would. */
  #outputClosed(): void {
    if (this.#outputGone) return;
    this.#outputGone = true;
    if (!this.#controller.signal.aborted)
      this.#controller.abort(new Interrupted('EPIPE', EXIT_CODES.EPIPE));
  }

  #interrupt(signal: 'SIGINT' | 'SIGTERM'): void {
    const reason = new Interrupted(signal, EXIT_CODES[signal]);
    if (this.#controller.signal.aborted) {
      // The same signal often arrives twice at once (to the process, then to its process group,
      // as `timeout` does); only a second Ctrl-C a moment later means "stop waiting".
      if (performance.now() - this.#interruptedAt < 1_000) return;
      this.#workers.killNow();
      process.exit(reason.exitCode);
    }
    this.#interruptedAt = performance.now();
    this.#write(`\n${signal}: stopping the demo and its worker processes...\n`);
    this.#controller.abort(reason);
  }

  async #startCluster(): Promise<void> {
    const { nodes, workMs, slowMs, concurrency, durationMs } = this.options;
    const slow = this.#labels.slow;
    const count = this.options.algorithms.length;
    this.out.write(
      `rpclb demo: ${nodes} worker processes on ${HOST}; ${slow} is slow ` +
        `(${workMs + slowMs} ms per call, the others ${workMs} ms)\n` +
        `  ${count} algorithm${count === 1 ? '' : 's'} x ${durationMs / 1000} s, ${concurrency} calls in flight\n`,
    );
    const started = performance.now();
    const first = await this.#spawnWorker(0, []);
    const rest = this.#names.slice(1).map((_, i) => this.#spawnWorker(i + 1, [first.address]));
    await Promise.all(rest);
    this.out.write(`workers: ${this.#workers.pids.join(' ')}\n`);
    await this.#startCaller(first);
    this.out.write(
      `cluster ready in ${Math.round(performance.now() - started)} ms: demo@${HOST} joined through ` +
        `${first.name} and sees ${nodes} members in each balancer.\n` +
        `  It is filtered out of the groups (nodeMatchList ${WORKERS_ONLY.join(', ')}), so it only selects.\n\n`,
    );
  }

  #spawnWorker(index: number, seeds: string[]): Promise<DemoWorkerReady> {
    const name = this.#names[index] as string;
    const slow = name === this.#labels.slow;
    return this.#workers.spawn(
      {
        name,
        seeds,
        delayMs: this.options.workMs + (slow ? this.options.slowMs : 0),
        balancers: this.options.algorithms.map((algorithm) => ({
          name: balancerName(algorithm),
          algorithm,
          algorithmOpts: this.#algorithmOpts(algorithm),
        })),
      },
      this.#controller.signal,
    );
  }

  #algorithmOpts(algorithm: DemoAlgorithm): Record<string, unknown> {
    if (algorithm !== 'WeightedRoundRobin') return {};
    const weight = (name: string) => (name === this.#labels.slow ? SLOW_WEIGHT : FAST_WEIGHT);
    return { weights: Object.fromEntries(this.#names.map((name) => [name, weight(name)])) };
  }

  /** Starts the demo's own node and its balancers, and waits until every worker is a member. */
  async #startCaller(seed: DemoWorkerReady): Promise<void> {
    this.#node = await startNode({
      name: `demo@${HOST}`,
      host: HOST,
      cookie: this.#workers.cookie,
      seeds: [seed.address],
      logLevel: 'error',
    });
    for (const algorithm of this.options.algorithms) {
      const lb = await this.#node.startLoadBalancer({
        name: balancerName(algorithm),
        selectionAlgorithm: algorithms[algorithm],
        algorithmOpts: this.#algorithmOpts(algorithm),
        nodeMatchList: WORKERS_ONLY,
        drainTimeoutMs: 1_000,
      });
      this.#balancers.set(algorithm, lb);
    }
    const full = () =>
      [...this.#balancers.values()].every((lb) => lb.members().length === this.options.nodes);
    await waitUntil(full, "every worker to join the balancers' groups", this.#controller.signal);
  }

  async #runAlgorithm(algorithm: DemoAlgorithm): Promise<RunResult> {
    const lb = this.#balancers.get(algorithm) as LoadBalancer;
    const { durationMs } = this.options;
    const stats = new RunStats(algorithm, this.#names);
    const view = createLiveView(this.out, this.#labels, algorithm);
    const started = performance.now();
    const tick = () => view.update(stats, performance.now() - started, durationMs);
    const timer = setInterval(tick, TICK_MS);
    try {
      await this.#drive(lb, algorithm === 'HashRing', stats, Date.now() + durationMs);
    } finally {
      clearInterval(timer);
    }
    this.#controller.signal.throwIfAborted();
    const result = stats.result(performance.now() - started);
    view.finish(result);
    return result;
  }

  /** Keeps `concurrency` calls in flight through `lb` until `deadline` (or an interrupt). */
  async #drive(lb: LoadBalancer, keyed: boolean, stats: RunStats, deadline: number): Promise<void> {
    const signal = this.#controller.signal;
    const loop = async () => {
      while (Date.now() < deadline && !signal.aborted) {
        const key = keyed ? `user-${Math.floor(Math.random() * KEYS)}` : undefined;
        const started = performance.now();
        try {
          const node = await lb.call<string>('Demo', 'work', [], {
            key,
            timeout: CALL_TIMEOUT_MS,
            signal,
          });
          stats.record(node, performance.now() - started, key);
        } catch (err) {
          if (signal.aborted) return;
          stats.fail(err);
        }
      }
    };
    await Promise.all(Array.from({ length: this.options.concurrency }, loop));
  }

  #report(results: RunResult[]): void {
    this.out.write('\nResults (latency as the demo node saw it, queueing included):\n\n');
    for (const result of results) {
      this.out.write(`${formatTable(result, this.#labels, this.#note(result))}\n`);
    }
    if (results.length > 1) {
      this.out.write(`${formatComparison(results, this.#labels, this.options.slowMs)}\n`);
    }
  }

  #note(result: RunResult): string | undefined {
    if (result.algorithm === 'WeightedRoundRobin') {
      return `weights: ${SLOW_WEIGHT} for ${this.#labels.slow}, ${FAST_WEIGHT} for each of the others`;
    }
    if (result.keys) {
      const { distinct, split } = result.keys;
      return split === 0
        ? `${distinct.toLocaleString('en-US')} distinct keys; every key was served by one node only`
        : `${distinct} distinct keys; ${split} of them reached more than one node`;
    }
    return undefined;
  }

  async #serveMetrics(lib: Awaited<ReturnType<typeof loadMetrics>>): Promise<void> {
    this.#metrics = await startMetricsServer(
      lib,
      this.#node as RpcNode,
      this.options.metricsPort as number,
    );
    this.out.write(`metrics: ${this.#metrics.url}\n`);
  }

  async #serveDashboard(): Promise<void> {
    const port = this.options.dashboardPort as number;
    this.#dashboard = await startDashboard(this.#node as RpcNode, { port });
    this.out.write(`dashboard: ${this.#dashboard.url}\n`);
  }

  async #shutdown(): Promise<void> {
    await this.#metrics?.close();
    await this.#dashboard?.close();
    const node = this.#node;
    if (node) {
      // close() stops the balancers and says goodbye; destroy() if that takes too long.
      const late = setTimeout(() => void node.destroy(), 3_000);
      await node.close({ drainTimeoutMs: 500 }).catch(() => node.destroy());
      clearTimeout(late);
    }
    const pids = this.#workers.pids;
    await this.#workers.stopAll();
    if (pids.length > 0)
      this.#write(`stopped ${pids.length} worker processes (${pids.join(' ')})\n`);
  }

  /** Writes unless the reader has gone. */
  #write(text: string): void {
    if (!this.#outputGone) this.out.write(text);
  }
}
