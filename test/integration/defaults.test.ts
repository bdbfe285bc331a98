/**
 * The defaults the contract states (§2), seen from the public API with real nodes on
 * 127.0.0.1: a node's name and listen address, the 32 MiB frame limit, and a balancer's
 * algorithm and node filter.
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { algorithms, RpcError, startNode } from '../../src/index.js';

const quiet = { cookie: 'c', logLevel: 'silent' } as const;
const MiB = 2 ** 20;

test('a node started without name, host or port is "<random>@<hostname>" on 127.0.0.1 and a free port', async (t) => {
  const [a, b] = await Promise.all([startNode(quiet), startNode(quiet)]);
  t.after(() => Promise.all([a.close(), b.close()]));
  for (const node of [a, b]) {
    const [random, host] = node.name.split('@');
    assert.equal(host, hostname());
    assert.match(random ?? '', /^[0-9a-z]+$/);
    assert.match(node.address, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(node.address, '127.0.0.1:0');
  }
  assert.notEqual(a.name, b.name, 'two default names differ');
  assert.equal(await a.connect(b.address), b.name);
});

test('the default frame limit is 32 MiB: just under it travels, just over it is bad_request before sending', async (t) => {
  const a = await startNode({ ...quiet, name: 'frame-a@127.0.0.1' });
  const b = await startNode({ ...quiet, name: 'frame-b@127.0.0.1' });
  t.after(() => Promise.all([a.close(), b.close()]));
  b.expose('M', { size: (s: string) => s.length });
  await a.connect(b.address);

  const under = 'x'.repeat(32 * MiB - 64 * 1024);
  assert.equal(await a.call(b.name, 'M', 'size', [under], { timeout: 30_000 }), under.length);
  const over = 'x'.repeat(32 * MiB + 1);
  const err = await a.call(b.name, 'M', 'size', [over]).then(
    () => assert.fail('expected bad_request'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RpcError);
  assert.equal(err.code, 'bad_request');
  assert.equal(err.details.reason, 'frame_too_large');
  assert.equal(err.details.node, b.name);
  // Nothing was sent: the connection is intact.
  assert.deepEqual(a.peers(), [b.name]);
  assert.equal(await a.call(b.name, 'M', 'size', ['ok']), 2);
});

// §6 allows a latency-aware default once it beats LeastConnections everywhere; the project's is
// LeastLoaded (docs/explanation/algorithms.md).
test('a balancer started with only a name runs LeastLoaded and joins its group (nodeMatchList "all")', async (t) => {
  const node = await startNode({ ...quiet, name: 'lbdefaults@127.0.0.1' });
  t.after(() => node.close());
  const lb = await node.startLoadBalancer({ name: 'plain' });
  assert.ok(lb.algorithm instanceof algorithms.LeastLoaded);
  assert.equal(lb.inspect().algorithm, 'LeastLoaded');
  assert.deepEqual(lb.members(), [node.name]);
  assert.deepEqual(node.groups.members('plain'), [node.name]);
  assert.equal(node.loadBalancer('plain'), lb);
});
