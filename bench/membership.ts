/**
 * Membership benchmark: how long N node processes, each seeded only with the first, take to
 * form a full mesh (8 and 32 processes), and how long one node's `groups.join()` takes to be
 * visible on every node of an 8-node cluster (median over several joins).
 *
 *   node dist/bench/membership.js [--quick]
 *
 * One file plays both parts: run directly it forks itself once per node with a small heap, and
 * each child runs one node. Times are taken where things happen, on the children's wall clocks
 * (`performance.timeOrigin + performance.now()`, shared by every process on the machine), so
 * IPC latency does not count. Every child is killed by pid on the way out, and exits by itself
 * if this process goes away.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

/** What {@link runMembershipBench} measures. */
export interface MembershipBenchResult {
  /** Per cluster size: time from the last process listening to every node seeing all others. */
  convergence: { nodes: number; ms: number; startMs: number }[];
  /** Time for a join to show in every other node's monitor, over several joins. */
  joinVisibleMs: { median: number; samples: number[] };
}

const CHILD_FLAG = '--membership-bench-child';
const COOKIE = 'membership-bench';
/** Small heaps: 32 node processes share a 2-core, few-GB machine. */
const CHILD_EXEC_ARGV = ['--max-old-space-size=64', '--max-semi-space-size=1', '--v8-pool-size=1'];
const SELF = fileURLToPath(import.meta.url);

const now = () => performance.timeOrigin + performance.now();

type ToChild =
  | { op: 'expect'; peers: number }
  | { op: 'watch'; id: number; group: string }
  | { op: 'join'; id: number; group: string };

type FromChild =
  | { type: 'ready'; address: string; at: number }
  | { type: 'meshed'; at: number }
  | { type: 'ack'; id: number; at: number }
  | { type: 'seen'; group: string; at: number };

// --- parent ---------------------------------------------------------------------------------

class BenchNode {
  readonly proc: ChildProcess;
  readonly messages: FromChild[] = [];
  #wake: (() => void) | undefined;

  constructor(options: Record<string, unknown>) {
    this.proc = fork(SELF, [CHILD_FLAG, JSON.stringify(options)], {
      execArgv: CHILD_EXEC_ARGV,
      env: { ...process.env, UV_THREADPOOL_SIZE: '1' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.proc.on('message', (msg: FromChild) => {
      this.messages.push(msg);
      this.#wake?.();
    });
    this.proc.on('exit', () => this.#wake?.());
  }

  send(msg: ToChild): void {
    this.proc.send(msg);
  }

  /** The first message (already received or future) matching `match`. */
  async next<T extends FromChild>(match: (m: FromChild) => m is T, deadline: number): Promise<T> {
    for (;;) {
      const found = this.messages.find(match);
      if (found) return found;
      if (this.proc.exitCode !== null || this.proc.signalCode !== null)
        throw new Error('a node process exited');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('membership bench: timed out');
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, left);
        this.#wake = () => {
          clearTimeout(timer);
          wake();
        };
      });
    }
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}

const is =
  <K extends FromChild['type']>(
    type: K,
    pred: (m: Extract<FromChild, { type: K }>) => boolean = () => true,
  ) =>
  (m: FromChild): m is Extract<FromChild, { type: K }> =>
    m.type === type && pred(m as Extract<FromChild, { type: K }>);

/** Starts `count` nodes (the first alone, the rest in parallel, seeded with it) and waits for the full mesh. */
async function startMesh(count: number, nodes: BenchNode[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  const name = (i: number) => `bench${i}@127.0.0.1`;
  const spawnStart = now();
  const seed = new BenchNode({ name: name(0), cookie: COOKIE });
  nodes.push(seed);
  const { address } = await seed.next(is('ready'), deadline);
  for (let i = 1; i < count; i++) {
    nodes.push(new BenchNode({ name: name(i), cookie: COOKIE, seeds: [address] }));
  }
  const ready = await Promise.all(nodes.map((n) => n.next(is('ready'), deadline)));
  for (const n of nodes) n.send({ op: 'expect', peers: count - 1 });
  const meshed = await Promise.all(nodes.map((n) => n.next(is('meshed'), deadline)));
  const lastReady = Math.max(...ready.map((m) => m.at));
  const meshAt = Math.max(...meshed.map((m) => m.at));
  return { nodes: count, ms: round(meshAt - lastReady), startMs: round(lastReady - spawnStart) };
}

/** One join on `nodes[joiner]`, timed until every other node's monitor reported it. */
async function timeJoin(nodes: BenchNode[], joiner: number, sample: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  const group = `join-visible-${sample}`;
  const others = nodes.filter((_, i) => i !== joiner);
  for (const [i, n] of others.entries()) n.send({ op: 'watch', id: i, group });
  await Promise.all(
    others.map((n, i) =>
      n.next(
        is('ack', (m) => m.id === i),
        deadline,
      ),
    ),
  );
  const joinId = 1_000_000 + sample;
  const node = nodes[joiner] as BenchNode;
  node.send({ op: 'join', id: joinId, group });
  const joined = await node.next(
    is('ack', (m) => m.id === joinId),
    deadline,
  );
  const seen = await Promise.all(
    others.map((n) =>
      n.next(
        is('seen', (m) => m.group === group),
        deadline,
      ),
    ),
  );
  return round(Math.max(...seen.map((m) => m.at)) - joined.at);
}

/**
 * Runs the membership benchmark. `quick` measures each cluster size once and 7 joins; the full
 * run takes the median of 3 formations per size and 21 joins.
 */
export async function runMembershipBench(opts: { quick: boolean }): Promise<MembershipBenchResult> {
  const formations = opts.quick ? 1 : 3;
  const convergence: MembershipBenchResult['convergence'] = [];
  for (const size of [8, 32]) {
    const runs = [];
    for (let r = 0; r < formations; r++)
      runs.push(await withCluster((nodes) => startMesh(size, nodes, 90_000)));
    runs.sort((a, b) => a.ms - b.ms);
    convergence.push(runs[Math.floor(runs.length / 2)] as (typeof runs)[number]);
  }
  const samples = await withCluster(async (nodes) => {
    await startMesh(8, nodes, 60_000);
    const out: number[] = [];
    for (let s = 0; s < (opts.quick ? 7 : 21); s++)
      out.push(await timeJoin(nodes, s % nodes.length, s, 10_000));
    return out;
  });
  return { convergence, joinVisibleMs: { median: median(samples), samples } };
}

/** Runs `body` with a fresh list of node processes, killed by pid whatever happens. */
async function withCluster<T>(body: (nodes: BenchNode[]) => Promise<T>): Promise<T> {
  const nodes: BenchNode[] = [];
  const killAll = () => {
    for (const n of nodes) n.kill();
  };
  process.once('exit', killAll);
  try {
    return await body(nodes);
  } finally {
    killAll();
    process.off('exit', killAll);
    await Promise.all(
      nodes.map((n) =>
        n.proc.exitCode !== null || n.proc.signalCode !== null
          ? undefined
          : new Promise((done) => n.proc.once('exit', done)),
      ),
    );
  }
}

function median(values: number[]): number {
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

async function runChild(options: Record<string, unknown>): Promise<void> {
  const { startNode } = await import('../src/index.js');
  const send = (msg: FromChild) => process.send?.(msg);
  process.on('disconnect', () => process.exit(0));
  const node = await startNode({ logLevel: 'error', ...options });
  let expected = -1;
  const checkMesh = () => {
    if (expected >= 0 && node.peers().length === expected) {
      expected = -1;
      send({ type: 'meshed', at: now() });
    }
  };
  node.on('nodeup', checkMesh);
  process.on('message', (msg: ToChild) => {
    if (msg.op === 'expect') {
      expected = msg.peers;
      checkMesh();
    } else if (msg.op === 'watch') {
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
}

if (process.argv[2] === CHILD_FLAG) {
  await runChild(JSON.parse(process.argv[3] ?? '{}'));
} else if (process.argv[1] && resolve(process.argv[1]) === SELF) {
  const quick = process.argv.includes('--quick');
  const result = await runMembershipBench({ quick });
  for (const c of result.convergence) {
    console.log(
      `full mesh of ${c.nodes} processes: ${c.ms} ms after the last one listened (starting them took ${c.startMs} ms)`,
    );
  }
  const j = result.joinVisibleMs;
  console.log(
    `join visible on all 8 nodes: median ${j.median} ms over ${j.samples.length} joins [${j.samples.join(', ')}]`,
  );
}
