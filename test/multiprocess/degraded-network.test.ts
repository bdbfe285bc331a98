/**
 * A degraded network, not just a cut one: a node sits behind a fault-injecting TCP proxy
 * (test/helpers/fault-proxy.ts) and advertises the proxy's address, so both of its links pass
 * through it. With 20 ms ± 5 ms added each way, with a throttled link, and with repeated stalls
 * of half the heartbeat timeout, calls succeed within their timeouts and nobody is declared
 * down; a stall longer than the heartbeat bound is detected within it, and the node comes back.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Cluster, type Worker } from '../helpers/cluster.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { settleViews } from '../helpers/membership.js';

const TIMEOUT_MS = 1_500;
/** The check interval, a tenth of the timeout: a silent peer is down by the timeout plus this (docs/explanation/membership.md). */
const CHECK_INTERVAL_MS = 150;
/**
 * Allowed on top of the bound (frames in flight, clock granularity), besides how late each
 * watcher's own timers ran (measured: on two shared cores a process can wait its turn).
 */
const SLACK_MS = 150;

interface Outcome {
  ok: boolean;
  ms: number;
  code?: string;
}

const cluster = new Cluster({ after });
// Registered here: an `after` called inside `before` would run as soon as `before` ends.
after(() => proxy?.close());
let proxy: FaultProxy;
let a: Worker;
let b: Worker;
let c: Worker;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const downs = () =>
  [a, b, c].flatMap((w) =>
    w.events.filter((e) => e.event === 'nodedown').map((e) => `${w.name} saw ${e.peer} down`),
  );

before(async () => {
  proxy = await FaultProxy.start({ seed: 11 });
  const options = { heartbeatTimeoutMs: TIMEOUT_MS, handshakeTimeoutMs: 2_000 };
  // b is reached only through the proxy: it advertises the proxy's address and dials nobody.
  b = await cluster.spawn({
    ...options,
    name: 'behind@127.0.0.1',
    advertiseAddress: proxy.address,
  });
  proxy.target = b.address;
  assert.equal(b.advertisedAddress, proxy.address);
  [a, c] = await Promise.all(
    ['front-a@127.0.0.1', 'front-c@127.0.0.1'].map((name) =>
      cluster.spawn({ ...options, name, seeds: [proxy.address] }),
    ),
  );
  await settleViews([a, b, c], {}, 10_000);
});

test('20 ms ± 5 ms each way: calls succeed, the latency is there, nobody goes down', async (t) => {
  proxy.set({ latencyMs: 20, jitterMs: 5 });
  const [ab, ba] = await Promise.all([
    a.request<Outcome[]>('steady', b.name, 1_000, 20, 3_000, 2_000),
    b.request<Outcome[]>('steady', a.name, 1_000, 20, 3_000, 2_000),
  ]);
  const fastest = Math.min(...[...ab, ...ba].map((o) => o.ms));
  const slowest = Math.max(...[...ab, ...ba].map((o) => o.ms));
  t.diagnostic(`${ab.length + ba.length} calls through the proxy, ${fastest}–${slowest} ms each`);
  assert.ok([...ab, ...ba].every((o) => o.ok));
  // Two crossings of 15 ms or more: the proxy is in the path of both directions.
  assert.ok(fastest >= 30, `fastest call ${fastest} ms`);
  await sleep(TIMEOUT_MS); // idle, with the latency still on
  assert.deepEqual(downs(), []);
  proxy.set({});
});

test('a throttled link (256 KiB/s each way): large calls succeed within their timeouts, nobody goes down', async (t) => {
  proxy.set({ bytesPerSecond: 256 * 1024 });
  const started = Date.now();
  // 12 calls of 64 KiB, both ways: 768 KiB each way, three seconds of transfer at that rate.
  const outcomes = await a.request<{ ok: boolean; ms: number }[]>(
    'burst',
    b.name,
    'Test',
    'echo',
    [new Uint8Array(64 * 1024)],
    12,
    10_000,
  );
  const took = Date.now() - started;
  t.diagnostic(`12 x 64 KiB echoed through 256 KiB/s in ${took} ms`);
  assert.ok(outcomes.every((o) => o.ok));
  assert.ok(took >= 2_500, `the link was throttled (${took} ms)`);
  assert.deepEqual(downs(), []);
  proxy.set({});
});

test('stalls of half the heartbeat timeout, again and again: calls wait them out, nobody goes down', async (t) => {
  proxy.set({ latencyMs: 20, jitterMs: 5 });
  const calls = a.request<Outcome[]>('steady', b.name, 100, 50, 6_000, 3_000);
  for (let i = 0; i < 5; i++) {
    proxy.stall(TIMEOUT_MS / 2);
    await sleep(TIMEOUT_MS / 2 + 400);
  }
  const outcomes = await calls;
  const slowest = Math.max(...outcomes.map((o) => o.ms));
  t.diagnostic(`5 stalls of ${TIMEOUT_MS / 2} ms: ${outcomes.length} calls, slowest ${slowest} ms`);
  assert.ok(
    outcomes.every((o) => o.ok),
    JSON.stringify(outcomes.filter((o) => !o.ok)),
  );
  assert.ok(slowest >= TIMEOUT_MS / 2 - 100, 'some calls waited out a stall');
  assert.deepEqual(downs(), []);
  proxy.set({});
});

test('a stall longer than the bound is detected within it; the node comes back after', async (t) => {
  await Promise.all([a, c].map((w) => w.request('resetLateness')));
  const stalledAt = Date.now();
  proxy.stall(4_000);
  const seen = await Promise.all(
    [a, c].map((w) =>
      w.waitForEvent((e) => e.event === 'nodedown' && e.peer === b.name, 5_000, 'b down'),
    ),
  );
  const afterMs = seen.map((e) => e.at - stalledAt);
  const late = await Promise.all([a, c].map((w) => w.request<number>('lateness')));
  t.diagnostic(
    `a 4 s stall detected after ${afterMs.join(', ')} ms (bound ${TIMEOUT_MS + CHECK_INTERVAL_MS}; timers up to ${late.map((l) => l.toFixed(0)).join(', ')} ms late)`,
  );
  for (const [i, e] of seen.entries()) {
    assert.equal(e.reason, 'timeout');
    const lateMs = late[i] as number;
    assert.ok(
      (afterMs[i] as number) <= TIMEOUT_MS + CHECK_INTERVAL_MS + SLACK_MS + lateMs,
      `${afterMs[i]} ms (timers up to ${lateMs.toFixed(0)} ms late)`,
    );
  }
  // The nodes on both sides of the proxy never lost each other.
  assert.equal(a.events.filter((e) => e.event === 'nodedown' && e.peer === c.name).length, 0);
  await settleViews([a, b, c], {}, 15_000);
  t.diagnostic(`back in the mesh ${Date.now() - stalledAt} ms after the stall began`);
});
