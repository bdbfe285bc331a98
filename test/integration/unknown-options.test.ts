/**
 * Unknown option names at every entry point that takes options, with real nodes on 127.0.0.1:
 * startNode, startLoadBalancer, node.call and node.close refuse them naming the closest valid
 * one; lb.call hands its options to the algorithm unchanged, unknown keys included (§6).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type NodeOptions,
  RpcError,
  type RpcNode,
  type SelectionAlgorithm,
  type SelectOptions,
  startNode,
} from '../../src/index.js';

const quiet = { cookie: 'c', logLevel: 'silent' } as const;

test('startNode refuses an unknown option before listening', async () => {
  const outcome = await startNode({ ...quiet, seed: ['127.0.0.1:4370'] } as NodeOptions).then(
    (node) => node.destroy().then(() => node),
    (err: unknown) => err,
  );
  assert.ok(outcome instanceof TypeError, `expected a TypeError, got ${outcome}`);
  assert.equal(outcome.message, 'unknown option "seed"; did you mean "seeds"?');
});

test('startLoadBalancer, node.call and close refuse unknown options; lb.call passes them on', async (t) => {
  const node: RpcNode = await startNode({ ...quiet, name: 'opts@127.0.0.1' });
  t.after(() => node.destroy());
  node.expose('M', { f: () => 'ok' });

  await assert.rejects(
    node.startLoadBalancer({ name: 'lb', drainTimeout: 5 } as never),
    (err: Error) =>
      err instanceof TypeError &&
      err.message === 'unknown option "drainTimeout"; did you mean "drainTimeoutMs"?',
  );
  assert.equal(node.loadBalancer('lb'), undefined, 'nothing was started');

  const refused = await node.call(node.name, 'M', 'f', [], { timout: 100 } as never).then(
    () => assert.fail('expected a bad_request'),
    (err: unknown) => err,
  );
  assert.ok(refused instanceof RpcError);
  assert.equal(refused.code, 'bad_request');
  assert.equal(refused.message, 'unknown option "timout"; did you mean "timeout"?');
  assert.equal(refused.details.field, 'timout');
  assert.equal(await node.call(node.name, 'M', 'f', [], { timeout: 100 }), 'ok');
  // Options that are not an object at all: bad_request too, never a TypeError.
  for (const send of [node.call, node.cast]) {
    for (const opts of [null, 'fast']) {
      await assert.rejects(
        send.call(node, node.name, 'M', 'f', [], opts as never),
        (err: unknown) =>
          err instanceof RpcError && err.code === 'bad_request' && err.details.field === 'options',
        `${send.name}(…, ${JSON.stringify(opts)})`,
      );
    }
  }

  // lb.call: selection options are the algorithm's business, whatever their names.
  const seen: SelectOptions[] = [];
  class Spy implements SelectionAlgorithm {
    chooseFromNodes(nodes: readonly string[], opts: SelectOptions): string {
      seen.push(opts);
      return nodes[0] as string;
    }
  }
  const lb = await node.startLoadBalancer({ name: 'lb', selectionAlgorithm: Spy });
  assert.equal(await lb.call('M', 'f', [], { key: 'k', region: 'eu' }), 'ok');
  assert.deepEqual(seen, [{ key: 'k', region: 'eu' }]);

  await assert.rejects(
    node.close({ drainTimeout: 10 } as never),
    (err: Error) =>
      err instanceof TypeError &&
      err.message === 'unknown option "drainTimeout"; did you mean "drainTimeoutMs"?',
  );
  assert.equal(node.closing, false, 'a refused close() does not start closing');
  await node.close({ drainTimeoutMs: 100 });
});
