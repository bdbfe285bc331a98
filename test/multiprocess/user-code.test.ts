/**
 * Exceptions from user code never take a node down: node event listeners (`nodeup`,
 * `nodedown`, `close`) and group monitors that throw, or return a rejected promise, are logged
 * with their error, the other listeners still run, and the node keeps serving and meshing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster } from '../helpers/cluster.js';

test('throwing node event listeners and group monitors are contained and logged', async (t) => {
  const cluster = new Cluster(t);
  const a = await cluster.spawn({
    name: 'buggy@127.0.0.1',
    behaviour: { throwingListeners: true, captureLogs: true },
  });
  await a.request('monitorThrowing', 'g');
  await a.request('watch', ['g']);
  const b = await cluster.spawn({ name: 'b@127.0.0.1', seeds: [a.address] });
  // c knows only b: it must learn a from b's peer list and dial it (the mesh keeps forming).
  const c = await cluster.spawn({ name: 'c@127.0.0.1', seeds: [b.address] });
  for (const peer of [b.name, c.name]) {
    // The forwarding listener registered after the throwing ones still ran.
    await a.waitForEvent((e) => e.event === 'nodeup' && e.peer === peer, 10_000, `nodeup ${peer}`);
  }
  assert.deepEqual(await a.request('peers'), [b.name, c.name]);

  // Monitors that throw (an Error, and null) are contained; the other monitor still hears.
  await a.request('join', 'g');
  await b.request('join', 'g');
  await a.waitForEvent(
    (e) => e.event === 'group' && e.change === 'join' && (e.nodes as string[]).includes(b.name),
  );
  assert.deepEqual(await a.request('members', 'g'), [a.name, b.name].sort());

  // c dies: a's throwing nodedown listener runs inside the socket's close handler.
  c.kill('SIGKILL');
  await a.waitForEvent((e) => e.event === 'nodedown' && e.peer === c.name);
  assert.equal(await b.request('call', a.name, 'Test', 'upcase', ['still here']), 'STILL HERE');
  assert.equal(await a.request('call', b.name, 'Test', 'whoami', []), b.name);

  // close() resolves although a 'close' listener throws.
  await a.request('close', 1_000);
  await a.waitForEvent((e) => e.event === 'closed');
  assert.equal(a.exited, false, 'the process lives on');

  const errors = a.events
    .filter((e) => e.event === 'log' && e.level === 'error')
    .map((e) => String(e.message));
  for (const expected of [
    `"nodeup" listener threw: Error: nodeup listener boom (${b.name})`,
    `"nodeup" listener threw: Error: nodeup listener boom (${c.name})`,
    '"nodeup" listener threw: Error: async nodeup listener boom',
    `"nodedown" listener threw: Error: nodedown listener boom (${c.name})`,
    '"close" listener threw: Error: close listener boom',
    `monitor of group "g" threw: Error: monitor boom (join ${b.name})`,
    'monitor of group "g" threw: null',
  ]) {
    assert.ok(
      errors.some((line) => line.includes(expected)),
      `logged: ${expected}\nerror lines:\n${errors.join('\n')}`,
    );
  }
  // The listener's stack is logged with it, to find the bug.
  assert.ok(errors.some((line) => line.includes('nodeup listener boom') && /\n\s+at /.test(line)));
});
