/**
 * A balancer's stop within a budget (what `node.close()` uses): it waits for its calls in flight
 * no longer than the budget nor than its own drainTimeoutMs, and a shorter budget given later
 * shortens a stop already waiting.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LeastConnections } from '../../../src/algorithms/least-connections.js';
import { type BalancerHost, LoadBalancer } from '../../../src/balancer/load-balancer.js';
import type { OutgoingCall } from '../../../src/rpc/call.js';

/** One peer in the group; its calls end only when the test says so. */
function balancer(drainTimeoutMs: number): { lb: LoadBalancer; finish: () => void } {
  const finishers: (() => void)[] = [];
  const host: BalancerHost = {
    name: 'self@h',
    callTimeoutMs: 60_000,
    join: () => {},
    leave: () => {},
    members: () => Object.freeze(['peer@h']),
    observe: () => () => {},
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    send: (attempt: OutgoingCall) => finishers.push(() => attempt.end(true, 'done')),
    cast: () => Promise.resolve(),
    probe: () => Promise.reject(new Error('no probes here')),
  };
  const lb = new LoadBalancer(
    host,
    { name: 'lb', drainTimeoutMs, nodeMatchList: [] },
    LeastConnections,
  );
  const finish = () => {
    for (const f of finishers.splice(0)) f();
  };
  return { lb, finish };
}

/** Milliseconds until `promise` settles. */
async function elapsed(promise: Promise<unknown>): Promise<number> {
  const started = performance.now();
  await promise;
  return performance.now() - started;
}

describe('LoadBalancer.stopWithin', () => {
  test('waits for a call in flight no longer than the budget', async () => {
    const { lb, finish } = balancer(60_000);
    const call = lb.call('M', 'f');
    const stopping = lb.stopWithin(50);
    let stopped = false;
    stopping.then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stopped, false, 'it waits for the call in flight');
    // (No lower bound in ms: a timer may fire a few ms "early" against performance.now()
    // when the event loop's cached time is stale.)
    const ms = await elapsed(stopping);
    assert.ok(ms < 1_000, `stopped after ${ms} ms`);
    finish();
    await call;
  });

  test("never longer than the balancer's own drainTimeoutMs", async () => {
    const { lb, finish } = balancer(40);
    const call = lb.call('M', 'f');
    const ms = await elapsed(lb.stopWithin(60_000));
    assert.ok(ms < 1_000, `stopped after ${ms} ms`);
    finish();
    await call;
  });

  test('a shorter budget shortens a stop() already waiting', async () => {
    const { lb, finish } = balancer(60_000);
    const call = lb.call('M', 'f');
    const stopping = lb.stop();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(lb.stopWithin(30), stopping, 'the same stop');
    const ms = await elapsed(stopping);
    assert.ok(ms < 1_000, `stopped ${ms} ms after the budget was given`);
    finish();
    await call;
  });

  test('ends as soon as the calls in flight end', async () => {
    const { lb, finish } = balancer(60_000);
    const call = lb.call('M', 'f');
    const stopping = lb.stopWithin(60_000);
    setTimeout(finish, 20);
    const ms = await elapsed(stopping);
    assert.ok(ms < 1_000, `stopped after ${ms} ms`);
    assert.equal(await call, 'done');
  });
});
