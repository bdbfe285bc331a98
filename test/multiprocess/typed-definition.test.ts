/**
 * Typed services, argument validation, balancer definitions, random-node calls and exclusions
 * across real processes. Four worker processes import one definition file
 * (test/helpers/typed/balancers.ts) and start it on their nodes, with the node option
 * `excludedNodePatterns: ['_qa']`: three 'orders' nodes join the balancer's group; the QA node,
 * whose name contains 'orders' too, does not.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Cluster, type RequestFailed, type Worker } from '../helpers/cluster.js';

const SCRIPT = fileURLToPath(new URL('../helpers/typed/worker.js', import.meta.url));
const NAMES = ['tm-orders1', 'tm-orders2', 'tm-orders3', 'tm-orders_qa'];

describe('typed services and balancer definitions across processes', () => {
  const cluster = new Cluster();
  let workers: Worker[] = [];
  let caller: Worker;
  let qa: Worker;
  const byName = (name: string) => workers.find((w) => w.name === name) as Worker;

  before(async () => {
    const first = await cluster.spawn(
      { name: `${NAMES[0]}@127.0.0.1`, excludedNodePatterns: ['_qa'] },
      15_000,
      undefined,
      SCRIPT,
    );
    const rest = await Promise.all(
      NAMES.slice(1).map((name) =>
        cluster.spawn(
          { name: `${name}@127.0.0.1`, seeds: [first.address], excludedNodePatterns: ['_qa'] },
          15_000,
          undefined,
          SCRIPT,
        ),
      ),
    );
    workers = [first, ...rest];
    caller = first;
    qa = byName('tm-orders_qa@127.0.0.1');
    await Promise.all(workers.map((w) => w.request('waitForMembers', 3)));
  });
  after(() => cluster.cleanup());

  test('one definition, every process: the members are the three orders nodes, not the QA one', async () => {
    const expected = NAMES.slice(0, 3).map((n) => `${n}@127.0.0.1`);
    for (const worker of workers) assert.deepEqual(await worker.request('members'), expected);
  });

  test('typed calls through the definition and to a node; codec-changed values', async () => {
    assert.equal(await caller.request('service', 'add', [40, 2]), 42);
    assert.equal(
      await qa.request('service', 'add', [1, 2]),
      3,
      'a node outside the group still calls',
    );
    assert.equal(await caller.request('direct', workers[2]?.name, 2, 3), 5);
    assert.deepEqual(await caller.request('bytes', 'hi'), {
      isUint8Array: true,
      bytes: [104, 105],
    });
  });

  test('invalid arguments fail with bad_request and the issues, from another process', async () => {
    await assert.rejects(
      caller.request('service', 'add', ['1', 2], { exclude: [caller.name] }),
      (err: RequestFailed) => {
        assert.equal(err.code, 'bad_request');
        assert.equal(err.failure.details?.reason, 'invalid_arguments');
        assert.deepEqual(err.failure.details?.issues, [
          { message: 'expected a number', path: [0] },
        ]);
        assert.notEqual(err.failure.details?.node, caller.name);
        return true;
      },
    );
  });

  test('callOnRandomNode: matching nodes only (itself included), QA excluded unless named', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++)
      seen.add(await caller.request('callOnRandomNode', 'orders', 'whoami'));
    assert.deepEqual(
      [...seen].sort(),
      NAMES.slice(0, 3).map((n) => `${n}@127.0.0.1`),
    );
    assert.equal(await caller.request('callOnRandomNode', 'tm-orders1', 'whoami'), caller.name);
    assert.equal(await caller.request('callOnRandomNode', 'orders_qa', 'whoami'), qa.name);
    await assert.rejects(
      caller.request('callOnRandomNode', 'inventory', 'whoami'),
      (err: RequestFailed) => {
        assert.equal(err.code, 'service_unavailable');
        assert.equal(err.failure.details?.reason, 'no_matching_node');
        return true;
      },
    );
    const before = (await qa.request<{ casts: number }>('state')).casts;
    await caller.request('castOnRandomNode', 'orders_qa');
    for (let i = 0; i < 100; i++) {
      if ((await qa.request<{ casts: number }>('state')).casts > before) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal((await qa.request<{ casts: number }>('state')).casts, before + 1);
  });

  test('per-call exclusion: an excluded member is never selected', async () => {
    const excluded = workers[1]?.name as string;
    const chosen = await caller.request<string[]>('selectExcluding', [excluded], 200);
    assert.ok(!chosen.includes(excluded), `${chosen}`);
    assert.equal(chosen.length, 2);
  });

  test('a keyed retry moves to the next replica instead of the node that refused', async () => {
    // a key whose owner is another process than the caller
    let key = '';
    let ring: string[] = [];
    for (let i = 0; ; i++) {
      ring = await caller.request<string[]>('replicas', `user-${i}`, 3);
      if (ring[0] !== caller.name) {
        key = `user-${i}`;
        break;
      }
    }
    const [owner, next] = ring as [string, string];
    assert.equal(await caller.request('service', 'whoami', [], { key }), owner);
    await byName(owner).request('setRefusing', true);
    try {
      assert.equal(await caller.request('service', 'whoami', [], { key }), next);
      assert.equal((await byName(owner).request<{ refusals: number }>('state')).refusals, 1);
    } finally {
      await byName(owner).request('setRefusing', false);
    }
  });
});
