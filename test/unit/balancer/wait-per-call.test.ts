/**
 * A call's own `waitForMembers` (rpc_load_balancer's per-call `retry?`): with no members, `false`
 * fails at once although the balancer waits, `true` waits although the balancer does not, and
 * a value that is not a boolean is `bad_request`. It never reaches the algorithm.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SelectionAlgorithm, SelectOptions } from '../../../src/algorithms/types.js';
import { LoadBalancer } from '../../../src/balancer/load-balancer.js';
import { RpcError } from '../../../src/errors.js';
import { FakeHost } from '../../helpers/fake-balancer-host.js';

class Recorder implements SelectionAlgorithm {
  static seen: SelectOptions[] = [];
  chooseFromNodes(nodes: readonly string[], opts: SelectOptions) {
    Recorder.seen.push(opts);
    return nodes[0] as string;
  }
}

/** Checks an RpcError's code and `details.reason`. */
const failedWith = (code: string, reason: string) => (err: RpcError) => {
  assert.ok(err instanceof RpcError);
  assert.equal(err.code, code);
  assert.equal(err.details.reason, reason);
  return true;
};

function balancer(waitForMembers: boolean): { host: FakeHost; lb: LoadBalancer } {
  const host = new FakeHost('client@h');
  const lb = new LoadBalancer(host, { name: 'g', nodeMatchList: [], waitForMembers }, Recorder);
  return { host, lb };
}

describe('waitForMembers per call', () => {
  test('false fails at once with no_members, although the balancer waits', async () => {
    const { lb } = balancer(true);
    const started = Date.now();
    const noMembers = failedWith('service_unavailable', 'no_members');
    await assert.rejects(
      lb.call('M', 'f', [], { waitForMembers: false, timeout: 5_000 }),
      noMembers,
    );
    await assert.rejects(
      lb.cast('M', 'f', [], { waitForMembers: false, timeout: 5_000 }),
      noMembers,
    );
    assert.ok(Date.now() - started < 1_000, 'it did not wait for the timeout');
  });

  test('true waits for a member, although the balancer does not', async () => {
    const { host, lb } = balancer(false);
    await assert.rejects(lb.call('M', 'f'), failedWith('service_unavailable', 'no_members'));
    const call = lb.call('M', 'f', [], { waitForMembers: true, timeout: 5_000 });
    setTimeout(() => host.setMembers('g', ['a@h']), 20);
    assert.equal(await call, 'a@h');
    assert.ok(Recorder.seen.every((opts) => !('waitForMembers' in opts)));
  });

  test('not a boolean: bad_request naming the field', async () => {
    const { lb } = balancer(true);
    await assert.rejects(
      lb.call('M', 'f', [], { waitForMembers: 'yes' as never }),
      (err: RpcError) => {
        assert.equal(err.code, 'bad_request');
        assert.deepEqual(err.details, {
          field: 'waitForMembers',
          balancer: 'g',
          module: 'M',
          function: 'f',
        });
        return true;
      },
    );
    await assert.rejects(lb.cast('M', 'f', [], { waitForMembers: 1 as never }), {
      code: 'bad_request',
    });
  });
});
