/**
 * `connections: 'on-demand'` with nodes in one process on 127.0.0.1 and an in-memory backend
 * that carries groups: no node dials another until a call needs it; group memberships of nodes
 * that are not connected come from the backend; a member whose connection is lost, or whose
 * dial is refused, stops being selected at once although its entry is still registered, and
 * comes back when it registers again.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { algorithms, type RpcNode, startNode } from '../../src/index.js';
import { waitFor } from '../helpers/cluster.js';
import { MemoryRegistry } from '../helpers/memory-discovery.js';
import { claimPort } from '../helpers/ports.js';

const quiet = { cookie: 'on-demand', logLevel: 'silent' as const };
const nodes = new Set<RpcNode>();
after(() => Promise.all([...nodes].map((n) => n.destroy())));

async function start(name: string, registry: MemoryRegistry, port = 0): Promise<RpcNode> {
  const node = await startNode({
    ...quiet,
    name,
    port,
    connections: 'on-demand',
    discovery: () => registry.discovery(),
  });
  nodes.add(node);
  return node;
}

/** A worker: exposes `Work.who` and joins the group `work`. */
async function worker(name: string, registry: MemoryRegistry, port = 0): Promise<RpcNode> {
  const node = await start(name, registry, port);
  node.expose('Work', { who: () => node.name });
  node.groups.join('work');
  return node;
}

/** A RoundRobin balancer over the group `work` of the nodes whose name contains `match`. */
const roundRobin = (node: RpcNode, match: string) =>
  node.startLoadBalancer({
    name: 'work',
    selectionAlgorithm: algorithms.RoundRobin,
    nodeMatchList: [match],
  });

test('connections: a bad value and a discovery that carries no groups are configuration errors', async () => {
  await assert.rejects(
    startNode({ ...quiet, name: 'od-bad@127.0.0.1', connections: 'lazy' as 'mesh' }),
    /option "connections" must be "mesh", "on-demand", or \{ mode: "on-demand", idleTimeoutMs \}, received "lazy"/,
  );
  await assert.rejects(
    startNode({ ...quiet, name: 'od-seeds@127.0.0.1', connections: 'on-demand' }),
    (err: Error) =>
      err instanceof TypeError && /needs a discovery backend that carries groups/.test(err.message),
  );
});

test('nodes connect only to what they call; groups of unconnected nodes come from the backend', async () => {
  const registry = new MemoryRegistry();
  const workers = await Promise.all(
    ['od-w1', 'od-w2', 'od-w3', 'od-w4'].map((n) => worker(`${n}@127.0.0.1`, registry)),
  );
  const caller = await start('od-c1@127.0.0.1', registry);
  const names = workers.map((w) => w.name);
  await waitFor(
    () => caller.groups.members('work').length === 4,
    5_000,
    'the group from the registry',
  );
  assert.deepEqual(caller.groups.members('work'), names);
  assert.deepEqual(caller.peers(), [], 'knowing the members opened no connection');
  for (const w of workers) assert.deepEqual(w.peers(), [], `${w.name} dialled no one`);

  assert.equal(await caller.call(names[1] as string, 'Work', 'who', []), names[1]);
  assert.deepEqual(caller.peers(), [names[1]], 'one call, one connection');

  const lb = await roundRobin(caller, 'od-w');
  const served = new Set<string>();
  for (let i = 0; i < 8; i++) served.add(await lb.call<string>('Work', 'who', []));
  assert.deepEqual([...served].sort(), names);
  assert.deepEqual(caller.peers(), names);
  for (const w of workers) assert.deepEqual(w.peers(), [caller.name], 'workers stay unconnected');

  // A group change of an unconnected node travels through the backend; a connected one tells
  // the caller directly, even while the backend publishes nothing.
  const other = await worker('od-w5@127.0.0.1', registry);
  other.groups.join('extra');
  await waitFor(() => caller.groups.members('extra').includes(other.name), 5_000, 'extra');
  assert.ok(!caller.peers().includes(other.name));
  registry.paused = true;
  (workers[0] as RpcNode).groups.join('extra');
  await waitFor(
    () => caller.groups.members('extra').includes(names[0] as string),
    5_000,
    'a direct delta',
  );
  registry.paused = false;
  await lb.stop();
});

test('a crashed member stops being selected at once, though its entry stays, and is back after a restart', async () => {
  const registry = new MemoryRegistry();
  // Claimed, not port 0: w1 starts again on it, and other nodes listen on port 0 meanwhile.
  const w1Port = await claimPort();
  const [w1, w2] = await Promise.all([
    worker('od-x1@127.0.0.1', registry, w1Port),
    worker('od-x2@127.0.0.1', registry),
  ]);
  const w3 = await worker('od-x3@127.0.0.1', registry);
  const caller = await start('od-c2@127.0.0.1', registry);
  const lb = await roundRobin(caller, 'od-x');
  await lb.waitForMembers(3, { timeout: 5_000 });
  for (let i = 0; i < 6; i++) await lb.call('Work', 'who', []);
  assert.equal(caller.peers().length, 3);

  // w1 connected, then crashes: its registration outlives it.
  registry.crash((w1 as RpcNode).name);
  await (w1 as RpcNode).destroy();
  nodes.delete(w1 as RpcNode);
  await waitFor(() => lb.members().length === 2, 2_000, 'w1 dropped with its connection');
  assert.ok(registry.entries.has('od-x1@127.0.0.1'), 'still registered');
  for (let i = 0; i < 10; i++) assert.notEqual(await lb.call('Work', 'who', []), 'od-x1@127.0.0.1');

  // A second caller never dialled w1: while its entry stays, w1 counts; the first dial to it is
  // refused, and the call goes to another member.
  const late = await start('od-c3@127.0.0.1', registry);
  const lateLb = await roundRobin(late, 'od-x');
  await lateLb.waitForMembers(3, { timeout: 5_000 });
  assert.ok(lateLb.members().includes('od-x1@127.0.0.1'), 'the stale entry counts until tried');
  for (let i = 0; i < 6; i++)
    assert.notEqual(await lateLb.call('Work', 'who', []), 'od-x1@127.0.0.1');
  assert.deepEqual(
    lateLb.members(),
    [(w2 as RpcNode).name, w3.name],
    'the refused dial dropped it',
  );

  // The entry expires; a restart on the same port registers a new incarnation and is selected.
  registry.expire('od-x1@127.0.0.1');
  const back = await worker('od-x1@127.0.0.1', registry, w1Port);
  await waitFor(() => lb.members().length === 3 && lateLb.members().length === 3, 5_000, 'back');
  const served = new Set<string>();
  for (let i = 0; i < 6; i++) served.add(await lb.call<string>('Work', 'who', []));
  assert.ok(served.has(back.name));
  await lb.stop();
  await lateLb.stop();
});
