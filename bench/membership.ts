/**
 * Membership benchmark: how long N node processes, each seeded only with the first, take to
 * form a full mesh (8 and 32 processes; 8 only in quick mode), and how long one node's
 * `groups.join()` takes to be visible on every node of an 8-node cluster (median over several
 * joins).
 *
 *   node dist/bench/membership.js [--quick]
 *
 * One file plays both parts: run directly it forks itself once per node with a small heap, and
 * each child runs one node. Times are taken where things happen, on the children's wall clocks
 * (`performance.timeOrigin + performance.now()`, shared by every process on the machine), so
 * IPC latency does not count. Every child is killed by pid on the way out (normal end, error,
 * timeout, or this process exiting), and exits by itself if this process goes away.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

/** What {@link runMembershipBench} measures. */
export interface MembershipBenchResult {
  /**
   * Per cluster size: time from the last process listening to every node seeing all others
   * (`ms`, the median formation), how long starting the processes took in that formation
   * (`startMs`), and `ms` of every formation (`samples`).
   */
  convergence: { nodes: number; ms: number; startMs: number; samples: number[] }[];
  /** Time for a join to show in every other node's monitor, over several joins. */
  joinVisibleMs: { nodes: number; median: number; samples: number[] };
  /** Set when the deadline cut the benchmark short; what was measured is still reported. */
  stoppedEarly?: string;
}

/** Options of {@link runMembershipBench}. */
export interface MembershipBenchOptions {
  /** 8 nodes only, one formation and 7 joins (full: 8 and 32 nodes, 3 formations, 21 joins). */
  quick: boolean;
  /**
   * Epoch ms by which the benchmark must be done: no step starts without a fair chance to
   * finish by then, and every wait is cut at it (the processes are then killed by pid and
   * what was measured so far is returned, with `stoppedEarly` saying so).
   */
  deadline?: number;
}

const CHILD_FLAG = '--membership-bench-child';
const COOKIE = 'membership-bench';
/** Small heaps: 32 node processes share a 2-core, few-GB machine. */
const CHILD_EXEC_ARGV = ['--max-old-space-size=64', '--max-semi-space-size=1', '--v8-pool-size=1'];
const SELF = fileURLToPath(import.meta.url);
/** Cluster size of the join measurement. */
const JOIN_CLUSTER = 8;

const now = () => performance.timeOrigin + performance.now();

/** How each child is started: its node's options and the number of peers of a full mesh. */
interface ChildSpec {
  node: Record<string, unknown>;
  peers: number;
}

type ToChild =
  | { op: 'watch'; id: number; group: string }
  | { op: 'join'; id: number; group: string };

type FromChild =
  | { type: 'ready'; address: string; at: number }
  | { type: 'meshed'; at: number }
  | { type: 'ack'; id: number; at: number }
  | { type: 'seen'; group: string; at: number };

// --- parent ---------------------------------------------------------------------------------

/** A wait cut short by the overall deadline (as opposed to a failure). */
class DeadlineReached extends Error {}

class BenchNode {
  readonly proc: ChildProcess;
  readonly messages: FromChild[] = [];
  #wake: (() => void) | undefined;
  #error: Error | undefined;

  constructor(spec: ChildSpec) {
    this.proc = fork(SELF, [CHILD_FLAG, JSON.stringify(spec)], {
      execArgv: CHILD_EXEC_ARGV,
      env: { ...process.env, UV_THREADPOOL_SIZE: '1' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.proc.on('message', (msg: FromChild) => {
      this.messages.push(msg);
      this.#wake?.();
    });
    this.proc.on('exit', () => this.#wake?.());
    // A failed spawn or send is reported by the waiting `next`, never as an uncaught 'error'.
    this.proc.on('error', (err) => {
      this.#error ??= err;
      this.#wake?.();
    });
  }

  get exited(): boolean {
    return this.proc.exitCode !== null || this.proc.signalCode !== null;
  }

  send(msg: ToChild): void {
    if (this.proc.connected) this.proc.send(msg);
    else this.#error ??= new Error('IPC channel closed');
  }

  /**
   * The first message (already received or future) matching `match`. Throws when the process
   * fails or exits, or when `timeoutAt` (epoch ms) passes: as {@link DeadlineReached} when that
   * is the overall deadline `hardAt`.
   */
  async next<T extends FromChild>(
    match: (m: FromChild) => m is T,
    timeoutAt: number,
    hardAt = Number.POSITIVE_INFINITY,
  ): Promise<T> {
    const until = Math.min(timeoutAt, hardAt);
    for (;;) {
      const found = this.messages.find(match);
      if (found) return found;
      if (this.#error) throw new Error(`a node process failed: ${this.#error.message}`);
      if (this.exited) throw new Error('a node process exited');
      const left = until - Date.now();
      if (left <= 0) {
        if (until === hardAt) throw new DeadlineReached('membership bench: deadline reached');
        throw new Error('membership bench: timed out');
      }
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, left);
        this.#wake = () => {
          clearTimeout(timer);
          wake();
        };
      });
    }
  }

  /** SIGKILL by pid, unless it never started or has exited already. */
  kill(): void {
    const pid = this.proc.pid;
    if (pid === undefined || this.exited) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

const is =
  <K extends FromChild['type']>(
    type: K,
    pred: (m: Extract<FromChild, { type: K }>) => boolean = () => true,
  ) =>
  (m: FromChild): m is Extract<FromChild, { type: K }> =>
    m.type === type && pred(m as Extract<FromChild, { type: K }>);

/**
 * Starts `count` nodes (the first alone, the rest in parallel, seeded with it) and waits for the
 * full mesh. Each child reports the moment its own view became complete.
 */
async function startMesh(count: number, nodes: BenchNode[], timeoutMs: number, hardAt: number) {
  const timeoutAt = Date.now() + timeoutMs;
  const name = (i: number) => `bench${i}@127.0.0.1`;
  const spawnStart = now();
  const seed = new BenchNode({ node: { name: name(0), cookie: COOKIE }, peers: count - 1 });
  nodes.push(seed);
  const { address } = await seed.next(is('ready'), timeoutAt, hardAt);
  for (let i = 1; i < count; i++) {
    const node = { name: name(i), cookie: COOKIE, seeds: [address] };
    nodes.push(new BenchNode({ node, peers: count - 1 }));
  }
  const ready = await Promise.all(nodes.map((n) => n.next(is('ready'), timeoutAt, hardAt)));
  const meshed = await Promise.all(nodes.map((n) => n.next(is('meshed'), timeoutAt, hardAt)));
  const lastReady = Math.max(...ready.map((m) => m.at));
  const meshAt = Math.max(...meshed.map((m) => m.at));
  return { nodes: count, ms: round(meshAt - lastReady), startMs: round(lastReady - spawnStart) };
}

/** One join on `nodes[joiner]`, timed until every other node's monitor reported it. */
async function timeJoin(
  nodes: BenchNode[],
  joiner: number,
  sample: number,
  timeoutMs: number,
  hardAt: number,
) {
  const timeoutAt = Date.now() + timeoutMs;
  const group = `join-visible-${sample}`;
  const others = nodes.filter((_, i) => i !== joiner);
  // Ids unique across samples, so an earlier sample's ack cannot stand in for this one's.
  const watchId = (i: number) => sample * 1_000 + i;
  for (const [i, n] of others.entries()) n.send({ op: 'watch', id: watchId(i), group });
  await Promise.all(
    others.map((n, i) =>
      n.next(
        is('ack', (m) => m.id === watchId(i)),
        timeoutAt,
        hardAt,
      ),
    ),
  );
  const joinId = 1_000_000 + sample;
  const node = nodes[joiner] as BenchNode;
  node.send({ op: 'join', id: joinId, group });
  const joined = await node.next(
    is('ack', (m) => m.id === joinId),
    timeoutAt,
    hardAt,
  );
  const seen = await Promise.all(
    others.map((n) =>
      n.next(
        is('seen', (m) => m.group === group),
        timeoutAt,
        hardAt,
      ),
    ),
  );
  return round(Math.max(...seen.map((m) => m.at)) - joined.at);
}

/**
 * Runs the membership benchmark. `quick` forms an 8-node mesh once and times 7 joins; the full
 * run takes the median of 3 formations each of 8 and 32 nodes, and times 21 joins. A formation
 * is not started with less than a few seconds left before `deadline` (more for 32 nodes).
 */
export async function runMembershipBench(
  opts: MembershipBenchOptions,
): Promise<MembershipBenchResult> {
  const hardAt = opts.deadline ?? Number.POSITIVE_INFINITY;
  const formations = opts.quick ? 1 : 3;
  const sizes = opts.quick ? [8] : [8, 32];
  const joins = opts.quick ? 7 : 21;
  const convergence: MembershipBenchResult['convergence'] = [];
  const samples: number[] = [];
  let stoppedEarly: string | undefined;
  const stop = (what: string) => {
    stoppedEarly = `stopped at ${what} to stay within the run's deadline`;
  };
  try {
    for (const size of sizes) {
      const runs: Awaited<ReturnType<typeof startMesh>>[] = [];
      for (let r = 0; r < formations; r++) {
        if (hardAt - Date.now() < minFormationMs(size)) {
          stop(`formation ${r + 1} of ${formations} of ${size} nodes`);
          break;
        }
        try {
          runs.push(await withCluster((nodes) => startMesh(size, nodes, 90_000, hardAt)));
        } catch (err) {
          if (!(err instanceof DeadlineReached)) throw err;
          stop(`formation ${r + 1} of ${formations} of ${size} nodes`);
          break;
        }
      }
      if (runs.length > 0) {
        runs.sort((a, b) => a.ms - b.ms);
        const mid = runs[Math.floor(runs.length / 2)] as (typeof runs)[number];
        convergence.push({ ...mid, samples: runs.map((r) => r.ms) });
      }
      if (stoppedEarly) break;
    }
    if (!stoppedEarly && hardAt - Date.now() < minFormationMs(JOIN_CLUSTER) + 2_000) {
      stop('the join measurement');
    } else if (!stoppedEarly) {
      await withCluster(async (nodes) => {
        await startMesh(JOIN_CLUSTER, nodes, 60_000, hardAt);
        for (let s = 0; s < joins; s++) {
          try {
            samples.push(await timeJoin(nodes, s % nodes.length, s, 10_000, hardAt));
          } catch (err) {
            if (!(err instanceof DeadlineReached)) throw err;
            stop(`join ${s + 1} of ${joins}`);
            return;
          }
        }
      }).catch((err: unknown) => {
        if (!(err instanceof DeadlineReached)) throw err;
        stop('the join measurement');
      });
    }
  } catch (err) {
    if (!(err instanceof DeadlineReached)) throw err;
    stop('a step');
  }
  return {
    convergence,
    joinVisibleMs: { nodes: JOIN_CLUSTER, median: median(samples), samples },
    ...(stoppedEarly ? { stoppedEarly } : {}),
  };
}

/** Time a formation of `size` nodes is given at least (it usually takes far less). */
function minFormationMs(size: number): number {
  return size <= 8 ? 8_000 : 20_000;
}

/** Runs `body` with a fresh list of node processes, killed by pid whatever happens. */
async function withCluster<T>(body: (nodes: BenchNode[]) => Promise<T>): Promise<T> {
  const nodes: BenchNode[] = [];
  const killAll = () => {
    for (const n of nodes) n.kill();
  };
  // Also on process.exit() elsewhere (the orchestrator's SIGINT/SIGTERM/deadline paths).
  process.once('exit', killAll);
  try {
    return await body(nodes);
  } finally {
    killAll();
    process.off('exit', killAll);
    // Reap them; a process that never started may never report an exit, so this is bounded.
    await Promise.race([
      Promise.all(
        nodes.map((n) => (n.exited ? undefined : new Promise((done) => n.proc.once('exit', done)))),
      ),
      new Promise((done) => setTimeout(done, 5_000).unref()),
    ]);
  }
}

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : round(((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2);
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

// --- child ----------------------------------------------------------------------------------

async function runChild(spec: ChildSpec): Promise<void> {
  const { startNode } = await import('../src/index.js');
  const send = (msg: FromChild) => {
    if (process.connected) process.send?.(msg);
  };
  process.on('disconnect', () => process.exit(0));
  const node = await startNode({ logLevel: 'error', ...spec.node });
  // Reported the moment this node's own view is complete, on its own clock.
  let meshed = false;
  const checkMesh = () => {
    if (!meshed && node.peers().length === spec.peers) {
      meshed = true;
      send({ type: 'meshed', at: now() });
    }
  };
  node.on('nodeup', checkMesh);
  process.on('message', (msg: ToChild) => {
    if (msg.op === 'watch') {
      node.groups.monitor(msg.group, (event) => {
        if (event.type === 'join') send({ type: 'seen', group: msg.group, at: now() });
      });
      send({ type: 'ack', id: msg.id, at: now() });
    } else if (msg.op === 'join') {
      const at = now();
      node.groups.join(msg.group);
      send({ type: 'ack', id: msg.id, at });
    }
  });
  send({ type: 'ready', address: node.address, at: now() });
  checkMesh();
}

if (process.argv[2] === CHILD_FLAG) {
  await runChild(JSON.parse(process.argv[3] ?? '{}') as ChildSpec);
} else if (process.argv[1] && resolve(process.argv[1]) === SELF) {
  const quick = process.argv.includes('--quick');
  const result = await runMembershipBench({ quick });
  for (const c of result.convergence) {
    console.log(
      `full mesh of ${c.nodes} processes: ${c.ms} ms after the last one listened (starting them took ${c.startMs} ms) [${c.samples.join(', ')}]`,
    );
  }
  const j = result.joinVisibleMs;
  console.log(
    `join visible on all ${j.nodes} nodes: median ${j.median} ms over ${j.samples.length} joins [${j.samples.join(', ')}]`,
  );
  if (result.stoppedEarly) console.log(result.stoppedEarly);
}
