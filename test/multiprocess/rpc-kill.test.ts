/**
 * A call whose target dies fails with service_unavailable as soon as the death is seen, not at
 * its timeout: 50 calls in flight to a process that gets SIGKILL all fail within about a second.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster } from '../helpers/cluster.js';

interface Outcome {
  ok: boolean;
  code?: string;
  reason?: string;
  node?: string;
  at: number;
}

test('50 calls in flight to a SIGKILLed node all fail with service_unavailable within 1.5 s', async (t) => {
  const cluster = new Cluster(t);
  const [target, caller] = await Promise.all([
    cluster.spawn({ name: 'kill-target@127.0.0.1' }),
    cluster.spawn({ name: 'kill-caller@127.0.0.1' }),
  ]);
  await caller.request('connect', target.address);
  const burst = caller.request<Outcome[]>(
    'burstTimed',
    target.name,
    'RpcTest',
    'nap',
    [30_000],
    50,
    30_000,
  );
  // Every call is running on the target before it dies.
  await target.waitForEvent(
    () => target.events.filter((e) => e.event === 'nap-started').length === 50,
    10_000,
    '50 calls started',
  );
  target.kill('SIGKILL');
  const killedAt = Date.now();
  const outcomes = await burst;
  assert.equal(outcomes.length, 50);
  for (const o of outcomes) {
    assert.equal(o.ok, false);
    assert.equal(o.code, 'service_unavailable');
    assert.equal(o.reason, 'connection_lost');
    assert.equal(o.node, target.name);
    assert.ok(o.at - killedAt < 1_500, `failed ${o.at - killedAt} ms after the kill`);
  }
  const down = await caller.waitForEvent((e) => e.event === 'nodedown' && e.peer === target.name);
  assert.equal(down.reason, 'closed');
  // New calls fail at once as not connected.
  await assert.rejects(
    caller.request('call', target.name, 'Test', 'echo', [1]),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'service_unavailable');
      return true;
    },
  );
});
