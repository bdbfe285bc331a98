/**
 * Balancer definitions in one process: a definition starts on one node at a time, refuses to
 * work before `start` and after `stop` (service_unavailable, balancer_stopped), can start again
 * after a stop, and its services follow whichever balancer is running.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  algorithms,
  defineBalancer,
  moduleType,
  RpcError,
  type RpcNode,
  startNode,
} from '../../src/index.js';

const quiet = { logLevel: 'silent' as const, cookie: 'definition' };
const Echo = { echo: (x: string) => x };

describe('defineBalancer', () => {
  let a: RpcNode;
  let b: RpcNode;

  before(async () => {
    a = await startNode({ name: 'def-a@127.0.0.1', ...quiet });
    b = await startNode({ name: 'def-b@127.0.0.1', ...quiet });
    for (const node of [a, b]) node.expose('Echo', Echo);
  });
  after(async () => {
    await Promise.all([a.destroy(), b.destroy()]);
  });

  test('before start, every function fails with service_unavailable (balancer_stopped)', async () => {
    const def = defineBalancer({ name: 'early', module: moduleType<typeof Echo>('Echo') });
    const check = (err: unknown) => {
      assert.ok(err instanceof RpcError);
      assert.equal(err.code, 'service_unavailable');
      assert.equal(err.details.reason, 'balancer_stopped');
      assert.match(err.message, /not running in this process \(call start\(node\) first\)/);
      return true;
    };
    assert.throws(() => def.members(), check);
    assert.throws(() => def.selectNode(), check);
    await assert.rejects(def.call('Echo', 'echo', ['x']), check);
    await assert.rejects(def.service.echo('x'), check);
    await assert.rejects(def.callOnRandomNode('def', 'Echo', 'echo', ['x']), check);
    assert.equal(def.balancer, undefined);
  });

  test('start, use, stop, start again (on another node)', async () => {
    const def = defineBalancer({
      name: 'cycle',
      selectionAlgorithm: algorithms.RoundRobin,
      module: moduleType<typeof Echo>('Echo'),
    });
    const lb = await def.start(a);
    assert.equal(
      await def.start(a),
      lb,
      'starting again on the same node returns the running balancer',
    );
    await assert.rejects(def.start(b), /already started on def-a@127\.0\.0\.1/);
    assert.deepEqual(def.members(), [a.name]);
    assert.equal(await def.service.echo('hi'), 'hi');
    assert.equal(await def.serviceOf<typeof Echo>('Echo').echo('yo'), 'yo');
    assert.equal(await def.callOnRandomNode('def-a', 'Echo', 'echo', ['r']), 'r');
    await def.stop();
    await assert.rejects(def.service.echo('x'), { code: 'service_unavailable' });
    await def.start(b);
    assert.equal(def.balancer?.stopped, false);
    assert.equal(await def.service.echo('again'), 'again');
    await def.stop();
  });

  test('start(node, overrides): run-time options over the definition, the fixed ones refused', async () => {
    const def = defineBalancer({ name: 'overridden', nodeMatchList: 'all' });
    await assert.rejects(def.start(a, { name: 'other' } as never), /"name" is fixed/);
    await def.start(a, { nodeMatchList: [] });
    assert.deepEqual(def.members(), [], 'the override kept this node out of the group');
    await assert.rejects(def.call('Echo', 'echo', ['x'], { waitForMembers: false }), {
      code: 'service_unavailable',
    });
    await def.stop();
    await def.start(a);
    assert.deepEqual(def.members(), [a.name], "without overrides: the definition's options");
    await def.stop();
  });

  test('bad definitions are refused at once', () => {
    assert.throws(() => defineBalancer({ name: '' }), TypeError);
    assert.throws(() => moduleType(''), TypeError);
  });
});
