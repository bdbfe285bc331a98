/**
 * Deterministic subsetting on real sockets: 24 worker nodes and 4 caller nodes in one process.
 * Each caller only ever calls the members of its window, the calls spread evenly over all the
 * workers, and a caller that stops moves the others' windows.
 *
 * With `connections: 'on-demand'`, a caller connects to its window and to nothing else.
 *
 * Run under the lock (28 nodes): `flock /work/.heavy.lock node scripts/run-tests.mjs integration/subset`
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  algorithms,
  currentCall,
  type LoadBalancer,
  type RpcNode,
  startNode,
} from '../../src/index.js';
import { waitFor } from '../helpers/cluster.js';
import { MemoryRegistry } from '../helpers/memory-discovery.js';

const quiet = { logLevel: 'silent' as const, cookie: 'subset-it', host: '127.0.0.1' };
const WORKERS = 24;
const CALLERS = 4;
/**
 * 7, not 6: with 24 workers and 4 callers a window of 6 is exactly 1/4 of the ring, the windows
 * tile it and every share is equal; 7 makes them overlap, so the weighting is exercised.
 */
const MIN_APERTURE = 7;
const CALLS_PER_CALLER = 1_500;
const CONCURRENCY = 8;

/** Which caller called which worker, how many times (recorded by the workers). */
const received = new Map<string, Map<string, number>>();

function windowOf(lb: LoadBalancer): string[] {
  return lb.subset()?.window.map(({ node }) => node) ?? [];
}

/** `count` calls through `lb`, `CONCURRENCY` at a time. */
async function callMany(lb: LoadBalancer, count: number): Promise<void> {
  let left = count;
  const lane = async () => {
    while (left-- > 0) await lb.call('Work', 'run', []);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
}

function byWorker(workers: readonly RpcNode[], from: readonly string[]): number[] {
  return workers.map((w) => {
    let sum = 0;
    for (const caller of from) sum += received.get(w.name)?.get(caller) ?? 0;
    return sum;
  });
}

describe('subsetting on real sockets', () => {
  const workers: RpcNode[] = [];
  const callers: RpcNode[] = [];
  const balancers: LoadBalancer[] = [];

  before(async () => {
    const first = await startNode({ name: 'sw00@127.0.0.1', ...quiet });
    workers.push(first);
    for (let i = 1; i < WORKERS; i++) {
      const name = `sw${String(i).padStart(2, '0')}@127.0.0.1`;
      workers.push(await startNode({ name, ...quiet, seeds: [first.address] }));
    }
    for (const worker of workers) {
      received.set(worker.name, new Map());
      worker.expose('Work', {
        run: () => {
          const from = currentCall()?.caller as string;
          const counts = received.get(worker.name) as Map<string, number>;
          counts.set(from, (counts.get(from) ?? 0) + 1);
          return worker.name;
        },
      });
      // workers are members only: they serve the balancer's group without calling through it
      worker.groups.join('work');
    }
    for (let i = 0; i < CALLERS; i++) {
      const node = await startNode({ name: `sc${i}@127.0.0.1`, ...quiet, seeds: [first.address] });
      callers.push(node);
      balancers.push(
        await node.startLoadBalancer({
          name: 'work',
          nodeMatchList: [],
          // not the latency-aware default: in one process the workers' latencies differ by the
          // event loop's noise, and LeastLoaded rightly follows it (the figure would measure
          // that, not the subsetting)
          selectionAlgorithm: algorithms.LeastConnections,
          subset: { minAperture: MIN_APERTURE },
        }),
      );
    }
    for (const lb of balancers) await lb.waitForMembers(WORKERS, { timeout: 10_000 });
    await waitFor(
      () => balancers.every((lb) => lb.subset()?.callerCount === CALLERS),
      10_000,
      'every caller to see the others',
    );
  });

  after(async () => {
    await Promise.all([...callers, ...workers].map((node) => node.destroy()));
  });

  test('each caller calls only its window; the calls spread evenly over every worker', async (t) => {
    const windows = balancers.map(windowOf);
    for (const [i, window] of windows.entries()) {
      assert.equal(balancers[i]?.subset()?.callerIndex, i);
      assert.ok(window.length >= 7 && window.length <= 8, `caller ${i}: ${window.length} members`);
      assert.notEqual(window.length, WORKERS);
    }
    await Promise.all(balancers.map((lb) => callMany(lb, CALLS_PER_CALLER)));
    for (const [i, caller] of callers.entries()) {
      const called = workers.filter((w) => received.get(w.name)?.has(caller.name));
      assert.deepEqual(
        called.map((w) => w.name),
        windows[i],
        `${caller.name} called outside its window`,
      );
    }
    const counts = byWorker(
      workers,
      callers.map((c) => c.name),
    );
    const mean = (CALLERS * CALLS_PER_CALLER) / WORKERS;
    const max = Math.max(...counts);
    t.diagnostic(
      `calls per worker: ${counts.join(' ')} (mean ${mean}, max/mean ${(max / mean).toFixed(3)})`,
    );
    // 250 calls per worker on average: for a uniform draw one standard deviation is ~6 %, so
    // 1.3 leaves ~5 of them; the quota and the algorithm only make it tighter
    assert.ok(max / mean <= 1.3, `max/mean ${max / mean}`);
    assert.ok(Math.min(...counts) / mean >= 0.7, `min/mean ${Math.min(...counts) / mean}`);
  });

  test('a caller that stops leaves the callers group, and the others’ windows move', async () => {
    const before = balancers.slice(0, 3).map(windowOf);
    await balancers[3]?.stop();
    await waitFor(
      () => balancers.slice(0, 3).every((lb) => lb.subset()?.callerCount === 3),
      10_000,
      'the three others to see the caller go',
    );
    const windows = balancers.slice(0, 3).map(windowOf);
    // 3 callers over 24 workers: 8 each (1/3 of the ring), tiling it
    assert.deepEqual(
      windows.map((w) => w.length),
      [8, 8, 8],
    );
    assert.deepEqual(windows.flat().sort(), workers.map((w) => w.name).sort());
    assert.notDeepEqual(windows, before);
    for (const counts of received.values()) counts.clear();
    await Promise.all(balancers.slice(0, 3).map((lb) => callMany(lb, 300)));
    for (const [i, caller] of callers.slice(0, 3).entries()) {
      const called = workers.filter((w) => received.get(w.name)?.has(caller.name));
      assert.deepEqual(
        called.map((w) => w.name),
        windows[i],
      );
    }
  });
});

describe('subsetting with connections on demand', () => {
  const nodes: RpcNode[] = [];
  after(() => Promise.all(nodes.map((node) => node.destroy())));

  test('a caller connects to the members of its window, and to no other', async () => {
    const registry = new MemoryRegistry();
    const start = async (name: string) => {
      const node = await startNode({
        ...quiet,
        name,
        connections: 'on-demand',
        discovery: () => registry.discovery(),
      });
      nodes.push(node);
      return node;
    };
    const workers: RpcNode[] = [];
    for (let i = 0; i < 12; i++) {
      const worker = await start(`ow${String(i).padStart(2, '0')}@127.0.0.1`);
      worker.expose('Work', { run: () => worker.name });
      worker.groups.join('work');
      workers.push(worker);
    }
    const callers: RpcNode[] = [];
    const balancers: LoadBalancer[] = [];
    for (let i = 0; i < 3; i++) {
      const caller = await start(`oc${i}@127.0.0.1`);
      callers.push(caller);
      balancers.push(
        await caller.startLoadBalancer({
          name: 'work',
          nodeMatchList: [],
          selectionAlgorithm: algorithms.RoundRobin,
          subset: { minAperture: 5 },
        }),
      );
    }
    await waitFor(
      () =>
        balancers.every((lb) => lb.subset()?.callerCount === 3 && lb.subset()?.memberCount === 12),
      10_000,
      'every caller to see the members and the other callers through the registry',
    );
    assert.deepEqual(
      callers.map((c) => c.peers()),
      [[], [], []],
      'knowing the layout opened no connection',
    );
    await Promise.all(balancers.map((lb) => callMany(lb, 60)));
    for (const [i, caller] of callers.entries()) {
      const window = windowOf(balancers[i] as LoadBalancer);
      // 12 members, 3 callers, minAperture 5: windows of 5 that overlap by one member
      assert.equal(window.length, 5);
      assert.deepEqual(caller.peers(), window, `${caller.name}'s connections`);
    }
    const connected = new Set(callers.flatMap((c) => c.peers()));
    assert.equal(connected.size, 12, 'every worker has a caller');
  });
});
