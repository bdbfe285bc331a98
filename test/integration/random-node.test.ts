/**
 * callOnRandomNode / castOnRandomNode with nodes in one process on real sockets: only matching
 * nodes are chosen (this one included, running the call locally), none matching fails at once
 * with `no_matching_node`, and excluded node patterns keep nodes out of filters that do not
 * name them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RpcError, type RpcNode, startNode } from '../../src/index.js';

const quiet = { logLevel: 'silent' as const, cookie: 'random-node' };

describe('callOnRandomNode', () => {
  const nodes: RpcNode[] = [];
  let caller: RpcNode;
  const casts: string[] = [];

  before(async () => {
    for (const name of ['rn-caller', 'rn-orders1', 'rn-orders2', 'rn-orders_qa', 'rn-billing']) {
      const node = await startNode({
        name: `${name}@127.0.0.1`,
        ...quiet,
        excludedNodePatterns: ['_qa'],
      });
      node.expose('Who', {
        ami: () => node.name,
        record: () => {
          casts.push(node.name);
        },
      });
      nodes.push(node);
    }
    caller = nodes[0] as RpcNode;
    for (const node of nodes.slice(1)) await caller.connect(node.address);
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.destroy()));
  });

  test('calls only nodes matching the filter, each of them in time', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) seen.add(await caller.callOnRandomNode('orders', 'Who', 'ami'));
    assert.deepEqual([...seen].sort(), ['rn-orders1@127.0.0.1', 'rn-orders2@127.0.0.1']);
  });

  test('a RegExp filter', async () => {
    assert.equal(
      await caller.callOnRandomNode(/^rn-billing@/, 'Who', 'ami'),
      'rn-billing@127.0.0.1',
    );
  });

  test('a node carrying an excluded pattern is reached by a filter naming it', async () => {
    assert.equal(
      await caller.callOnRandomNode('orders_qa', 'Who', 'ami'),
      'rn-orders_qa@127.0.0.1',
    );
  });

  test('this node, when it matches and is chosen, runs the call itself', async () => {
    assert.equal(await caller.callOnRandomNode('rn-caller', 'Who', 'ami'), caller.name);
  });

  test('no node matching fails at once with service_unavailable, no_matching_node', async () => {
    await assert.rejects(caller.callOnRandomNode('inventory', 'Who', 'ami'), (err: RpcError) => {
      assert.ok(err instanceof RpcError);
      assert.equal(err.code, 'service_unavailable');
      assert.equal(err.details.reason, 'no_matching_node');
      assert.equal(err.notExecuted, true);
      assert.match(
        err.message,
        /no connected node matches the filter inventory \(excluded node patterns: _qa\)/,
      );
      return true;
    });
    // only a QA node matches 'rn-orders_': excluded for a filter that does not name '_qa'
    await assert.rejects(caller.callOnRandomNode('_q', 'Who', 'ami'), {
      code: 'service_unavailable',
    });
    await assert.rejects(caller.callOnRandomNode(42 as never, 'Who', 'ami'), {
      code: 'bad_request',
    });
  });

  test('castOnRandomNode reaches a matching node', async () => {
    casts.length = 0;
    await caller.castOnRandomNode('billing', 'Who', 'record');
    for (let i = 0; i < 100 && casts.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(casts, ['rn-billing@127.0.0.1']);
    await assert.rejects(caller.castOnRandomNode('inventory', 'Who', 'record'), {
      code: 'service_unavailable',
    });
  });
});
