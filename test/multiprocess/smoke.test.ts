import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster } from '../helpers/cluster.js';

test('two processes call each other both ways', async (t) => {
  const cluster = new Cluster(t);
  const a = await cluster.spawn({ name: 'a@127.0.0.1' });
  const b = await cluster.spawn({ name: 'b@127.0.0.1', seeds: [a.address] });
  await a.waitForEvent((e) => e.event === 'nodeup' && e.peer === b.name);
  assert.equal(await a.request('call', b.name, 'Test', 'upcase', ['hi']), 'HI');
  assert.equal(await b.request('call', a.name, 'Test', 'whoami', []), a.name);
});
