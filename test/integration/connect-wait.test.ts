/**
 * A direct call or cast to a node that is not connected yet waits, within its timeout, while a
 * dial that could lead to it is under way (a seed being dialled, a peer learnt from a peer list),
 * and fails with `not_connected` as soon as none can. Nodes in one process, real sockets.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type RpcError, type RpcNode, startNode } from '../../src/index.js';
import { unusedAddress } from '../helpers/ports.js';
import { RawPeer } from '../helpers/raw-peer.js';

const quiet = { cookie: 'wait', logLevel: 'silent' as const };

/** Checks a rejection is `service_unavailable` / `not_connected`, not executed, for `node`. */
const notConnected = (node: string) => (err: RpcError) => {
  assert.equal(err.code, 'service_unavailable');
  assert.equal(err.details.reason, 'not_connected');
  assert.equal(err.details.node, node);
  assert.equal(err.notExecuted, true);
  return true;
};

function starter(t: { after(fn: () => unknown): void }) {
  const nodes: RpcNode[] = [];
  t.after(() => Promise.all(nodes.map((n) => n.destroy())));
  return async (options: Parameters<typeof startNode>[0]) => {
    const node = await startNode({ ...quiet, ...options });
    node.expose('W', { who: () => node.name, note: () => undefined });
    nodes.push(node);
    return node;
  };
}

test('node.call(seedName) right after startNode({ seeds }) waits for the seed and succeeds', async (t) => {
  const start = starter(t);
  const seed = await start({ name: 'wait-seed@127.0.0.1' });
  const b = await start({ name: 'wait-b@127.0.0.1', seeds: [seed.address] });
  assert.equal(await b.call(seed.name, 'W', 'who', [], { timeout: 5_000 }), seed.name);
  const c = await start({ name: 'wait-c@127.0.0.1', seeds: [seed.address] });
  await c.cast(seed.name, 'W', 'note', []);
  assert.ok(c.peers().includes(seed.name));
});

test('a node learnt from the seed’s peer list is waited for too', async (t) => {
  const start = starter(t);
  const seed = await start({ name: 'wait-s2@127.0.0.1' });
  const other = await start({ name: 'wait-o2@127.0.0.1', seeds: [seed.address] });
  assert.equal(await other.call(seed.name, 'W', 'who', []), seed.name);
  // `late` knows only the seed; `other` reaches it through the seed's peer list.
  const late = await start({ name: 'wait-l2@127.0.0.1', seeds: [seed.address] });
  assert.equal(await late.call(other.name, 'W', 'who', [], { timeout: 5_000 }), other.name);
});

test('once every dial is done, a call to an unknown node fails at once with not_connected', async (t) => {
  const start = starter(t);
  const seed = await start({ name: 'wait-s3@127.0.0.1' });
  const b = await start({ name: 'wait-b3@127.0.0.1', seeds: [seed.address] });
  await b.call(seed.name, 'W', 'who', []);
  const started = Date.now();
  await assert.rejects(
    b.call('ghost@127.0.0.1', 'W', 'who', [], { timeout: 5_000 }),
    notConnected('ghost@127.0.0.1'),
  );
  assert.ok(Date.now() - started < 500, `took ${Date.now() - started} ms`);
  // Without seeds there is nothing to wait for.
  const alone = await start({ name: 'wait-alone@127.0.0.1' });
  await assert.rejects(
    alone.cast('ghost@127.0.0.1', 'W', 'note', []),
    notConnected('ghost@127.0.0.1'),
  );
});

test('while a seed was never reached, a call waits its timeout, then fails with not_connected', async (t) => {
  const start = starter(t);
  const b = await start({ name: 'wait-b4@127.0.0.1', seeds: [await unusedAddress()] });
  const started = Date.now();
  await assert.rejects(
    b.call('ghost@127.0.0.1', 'W', 'who', [], { timeout: 400 }),
    notConnected('ghost@127.0.0.1'),
  );
  const took = Date.now() - started;
  assert.ok(took >= 380 && took < 1_500, `took ${took} ms`);
  // An abort ends the wait with the signal's reason.
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('stop waiting')), 50);
  await assert.rejects(
    b.call('ghost@127.0.0.1', 'W', 'who', [], { timeout: 5_000, signal: controller.signal }),
    { message: 'stop waiting' },
  );
});

test('a peer that never sends its peer list holds calls to unknown nodes for handshakeTimeoutMs at most', async (t) => {
  const start = starter(t);
  const node = await start({ name: 'wait-n5@127.0.0.1', handshakeTimeoutMs: 300 });
  const peer = await RawPeer.connect(node.address);
  t.after(() => peer.destroy());
  await peer.handshake({ name: 'wait-raw@127.0.0.1', cookie: 'wait' });
  // A node's first frame once ready is its peer list; this one sends none at all.
  const started = Date.now();
  await assert.rejects(
    node.call('ghost@127.0.0.1', 'W', 'who', [], { timeout: 5_000 }),
    notConnected('ghost@127.0.0.1'),
  );
  const took = Date.now() - started;
  assert.ok(took < 1_500, `took ${took} ms`);
});
