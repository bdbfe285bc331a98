import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster } from '../helpers/cluster.js';

test('nodes with different heartbeat timeouts stay connected while idle', async (t) => {
  const cluster = new Cluster(t);
  const strict = await cluster.spawn({ name: 'strict@127.0.0.1', heartbeatTimeoutMs: 400 });
  const relaxed = await cluster.spawn({
    name: 'relaxed@127.0.0.1',
    heartbeatTimeoutMs: 4_000,
    seeds: [strict.address],
  });
  await strict.waitForEvent((e) => e.event === 'nodeup' && e.peer === relaxed.name);
  // Idle for several of the strict node's timeouts: the relaxed node must ping often enough.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const downs = [...strict.events, ...relaxed.events].filter((e) => e.event === 'nodedown');
  assert.deepEqual(downs, []);
  assert.equal(await strict.request('call', relaxed.name, 'Test', 'whoami', []), relaxed.name);
});
