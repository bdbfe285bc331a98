/**
 * Memory under sustained load, with real processes: a caller keeping 256 calls in flight must
 * hold memory for the calls in flight, not for every call it made while the load went on. Live
 * heap is read after a full garbage collection, on the caller and on the callees, twice while
 * the load runs (after a warm-up and much later), never after it stops: memory that is freed
 * only once the load pauses would go unseen otherwise.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, type Worker } from '../helpers/cluster.js';

const MiB = 2 ** 20;

/** Resolves once `caller`'s load has completed `count` calls (polled; bounded in time). */
async function completed(caller: Worker, count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await caller.request<{ completed: number }>('loadStatus')).completed < count) {
    if (Date.now() > deadline) assert.fail(`fewer than ${count} calls within 60 s`);
    await sleep(50);
  }
}

test('a steady 256 calls in flight keeps the live heap flat on caller and callees', async (t) => {
  const cluster = new Cluster(t);
  const workers = await Promise.all(
    ['heap-caller', 'heap-callee1', 'heap-callee2'].map((name) =>
      cluster.spawn({ name: `${name}@127.0.0.1` }),
    ),
  );
  const [caller, ...callees] = workers as [Worker, Worker, Worker];
  for (const callee of callees) await caller.request('connect', callee.address);
  // One callee answers at once, the other after 1 ms: replies trickle in all the time and the
  // caller's table of pending calls never empties, as under any steady load.
  await caller.request(
    'loadStart',
    [{ target: callees[0].name }, { target: callees[1].name, delayMs: 1 }],
    256,
  );
  // Warm-up: pools, caches, JIT and the pending-call table reach their working size. Then the
  // live heap of every process is sampled while the load goes on. Before the fix the caller kept
  // ~400 B per settled call until its table happened to empty (rarely, at random): tens of MiB
  // between two samples.
  await completed(caller, 20_000);
  const samples: number[][] = [];
  for (let calls = 40_000; calls <= 200_000; calls += 40_000) {
    samples.push(await Promise.all(workers.map((w) => w.request<number>('heapAfterGc'))));
    await completed(caller, calls);
  }
  samples.push(await Promise.all(workers.map((w) => w.request<number>('heapAfterGc'))));
  const { completed: calls, failed } = await caller.request<{ completed: number; failed: number }>(
    'loadStop',
  );
  assert.equal(failed, 0);
  // The spread between the lowest and the highest sample of each process.
  const spread = workers.map((_, i) => {
    const heaps = samples.map((sample) => sample[i] as number);
    return (Math.max(...heaps) - Math.min(...heaps)) / MiB;
  });
  t.diagnostic(
    `live heap spread over ${samples.length} samples during ${calls} calls: ${workers.map((w, i) => `${w.name} ${spread[i]?.toFixed(2)} MiB`).join(', ')}`,
  );
  for (const [i, w] of workers.entries()) {
    assert.ok(
      (spread[i] as number) < 4,
      `${w.name}: live heap moved by ${spread[i]?.toFixed(1)} MiB`,
    );
  }
});
