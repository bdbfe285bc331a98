/**
 * The heartbeat's two bounds, with real processes (docs/explanation/membership.md, "Failure
 * detection"): a node pings every ping interval (a fifth of the stricter heartbeatTimeoutMs of
 * the pair) whatever else it sends; a stall shorter than heartbeatTimeoutMs minus one ping
 * interval never causes a nodedown; a silent peer is declared down no later than
 * heartbeatTimeoutMs plus one check interval (a tenth of the watcher's own timeout) after the
 * last frame it sent.
 */
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { test } from 'node:test';
import { Cluster, COOKIE, type Worker } from '../helpers/cluster.js';
import { RawPeer } from '../helpers/raw-peer.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/**
 * Allowed on top of a bound: signal delivery, a frame in flight, clock granularity. On top of
 * that, each bound is extended by how late the processes involved actually ran their timers
 * (measured): on two shared cores a process can wait its turn, and that is not the heartbeat's.
 */
const SLACK_MS = 120;

test('nodes with different heartbeat timeouts stay connected while idle', async (t) => {
  const cluster = new Cluster(t);
  // 1 000 ms, not less: the relaxed node must then ping every 200 ms (at its own pace, every
  // 2 s, it would be dropped within the first second) and a stall of its process up to 800 ms
  // is tolerated, so a busy machine's scheduling does not decide the test.
  const strict = await cluster.spawn({ name: 'strict@127.0.0.1', heartbeatTimeoutMs: 1_000 });
  const relaxed = await cluster.spawn({
    name: 'relaxed@127.0.0.1',
    heartbeatTimeoutMs: 10_000,
    seeds: [strict.address],
  });
  await strict.waitForEvent((e) => e.event === 'nodeup' && e.peer === relaxed.name);
  // Idle for several of the strict node's timeouts: the relaxed node must ping often enough.
  await sleep(3_000);
  const downs = [...strict.events, ...relaxed.events].filter((e) => e.event === 'nodedown');
  assert.deepEqual(downs, []);
  assert.equal(await strict.request('call', relaxed.name, 'Test', 'whoami', []), relaxed.name);
});

test('a node pings every interval (a fifth of the timeout), even while it sends replies', async (t) => {
  const cluster = new Cluster(t);
  const node = await cluster.spawn({ name: 'pinger@127.0.0.1', heartbeatTimeoutMs: 3_000 });
  const peer = await RawPeer.connect(node.address);
  t.after(() => peer.destroy());
  await peer.handshake({ name: 'raw-pinged@127.0.0.1', cookie: COOKIE, heartbeatTimeoutMs: 3_000 });
  await node.request('resetLateness');
  const ownDelay = monitorEventLoopDelay({ resolution: 10 });
  ownDelay.enable();
  const since = performance.now();
  // Replies flow at random moments: they must not hold back the pings.
  const until = Date.now() + 2_000;
  while (Date.now() < until) {
    peer.sendFrame(0x05); // our own ping, so the node does not time us out
    await peer.call('Test', 'echo', [1]);
    await sleep(30 + Math.random() * 120);
  }
  const pings = peer.frameTimes.filter((at, i) => at >= since && peer.frames[i]?.[0] === 0x05);
  const gaps = pings.slice(1).map((at, i) => at - (pings[i] as number));
  const worst = Math.max(pings[0] === undefined ? Infinity : pings[0] - since, ...gaps);
  ownDelay.disable();
  // The pinger's timers and this process's reads may each have run late.
  const late = (await node.request<number>('lateness')) + Math.max(0, ownDelay.max / 1e6 - 10);
  t.diagnostic(
    `${pings.length} pings in 2 s; largest gap ${worst.toFixed(0)} ms (interval 600; timers ran up to ${late.toFixed(0)} ms late)`,
  );
  assert.ok(pings.length >= 2, `${pings.length} pings in 2 s`);
  assert.ok(
    worst <= 600 + SLACK_MS + late,
    `largest gap between pings ${worst.toFixed(0)} ms (timers up to ${late.toFixed(0)} ms late)`,
  );
});

/** Every nodedown any of `workers` reported. */
const downs = (workers: readonly Worker[]) =>
  workers.flatMap((w) =>
    w.events.filter((e) => e.event === 'nodedown').map((e) => `${w.name} saw ${e.peer} down`),
  );

test('a handler blocking the loop 2.2 s with heartbeatTimeoutMs 3000 causes no nodedown', async (t) => {
  const cluster = new Cluster(t);
  const options = { heartbeatTimeoutMs: 3_000 };
  const blocker = await cluster.spawn({ ...options, name: 'blocker@127.0.0.1' });
  // Idle observers connected at staggered moments, so their links have different phases.
  const observers: Worker[] = [];
  for (let i = 0; i < 4; i++) {
    const seeds = [blocker.address];
    observers.push(await cluster.spawn({ ...options, name: `idle${i}@127.0.0.1`, seeds }));
    await blocker.waitForEvent((e) => e.event === 'nodeup' && e.peer === observers[i]?.name);
    await sleep(i * 170);
  }
  const caller = observers[0] as Worker;
  // On fresh links, then again after a pause: each block is 2.2 s, under 3000 - 600 with 200 ms to spare for a loaded machine.
  for (const pauseMs of [0, 450]) {
    await sleep(pauseMs);
    const started = Date.now();
    assert.equal(
      await caller.request('call', blocker.name, 'Test', 'block', [2_200], { timeout: 10_000 }),
      2_200,
    );
    t.diagnostic(`blocked 2200 ms (call took ${Date.now() - started} ms)`);
  }
  await sleep(600);
  assert.deepEqual(downs([blocker, ...observers]), []);
  assert.equal((await blocker.request<string[]>('peers')).length, 4);
});

test('a SIGSTOPped node is declared down within heartbeatTimeoutMs plus one check interval', async (t) => {
  const cluster = new Cluster(t);
  const timeout = 1_500;
  // Its last ping went at most a ping interval before the signal; each watcher checks every
  // check interval.
  const pingInterval = 300;
  const checkInterval = 150;
  const frozen = await cluster.spawn({ name: 'frozen@127.0.0.1', heartbeatTimeoutMs: timeout });
  const watchers: Worker[] = [];
  for (let i = 0; i < 3; i++) {
    watchers.push(
      await cluster.spawn({
        name: `watcher${i}@127.0.0.1`,
        heartbeatTimeoutMs: timeout,
        seeds: [frozen.address],
      }),
    );
  }
  for (const w of watchers)
    await w.waitForEvent((e) => e.event === 'nodeup' && e.peer === frozen.name);
  await Promise.all(watchers.map((w) => w.request('resetLateness')));
  await sleep(300);
  const stoppedAt = Date.now();
  frozen.kill('SIGSTOP');
  t.after(() => frozen.kill('SIGCONT'));
  const seen = await Promise.all(
    watchers.map((w) =>
      w.waitForEvent((e) => e.event === 'nodedown' && e.peer === frozen.name, 5_000),
    ),
  );
  const after = seen.map((e) => e.at - stoppedAt);
  // A watcher whose own timers ran late (waiting for a core) judges late by as much.
  const late = await Promise.all(watchers.map((w) => w.request<number>('lateness')));
  t.diagnostic(
    `declared down ${after.join(', ')} ms after SIGSTOP (bounds ${timeout - pingInterval}–${timeout + checkInterval}; watchers' timers up to ${late.map((l) => l.toFixed(0)).join(', ')} ms late)`,
  );
  for (const [i, e] of seen.entries()) {
    assert.equal(e.reason, 'timeout');
    const at = after[i] as number;
    assert.ok(at >= timeout - pingInterval - SLACK_MS, `too early: ${at} ms`);
    const lateMs = late[i] as number;
    assert.ok(
      at <= timeout + checkInterval + SLACK_MS + lateMs,
      `too late: ${at} ms (timers up to ${lateMs.toFixed(0)} ms late)`,
    );
  }
});
