/**
 * Per-call exclusion (`exclude: [names]`): every built-in algorithm, through a balancer, never
 * returns an excluded member; HashRing moves a key to its next replica without rebuilding its
 * ring; a selection that excludes every member fails with `all_excluded`; and the balancer's
 * own retries exclude the member that refused, so a keyed retry goes to the next replica.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HashRing } from '../../../src/algorithms/hash-ring.js';
import { algorithms, type SelectionAlgorithmClass } from '../../../src/algorithms/index.js';
import type { LeastConnections } from '../../../src/algorithms/least-connections.js';
import type { LeastLoaded } from '../../../src/algorithms/least-loaded.js';
import { ExclusionFilter } from '../../../src/balancer/exclusion.js';
import { LoadBalancer } from '../../../src/balancer/load-balancer.js';
import { RpcError } from '../../../src/errors.js';
import { FakeHost } from '../../helpers/fake-balancer-host.js';
import { seededRandom } from '../../helpers/random.js';

const MEMBERS = ['a@h', 'b@h', 'c@h', 'd@h'];

function balancer(
  algorithm: SelectionAlgorithmClass<never>,
  options = {},
): {
  host: FakeHost;
  lb: LoadBalancer;
} {
  const host = new FakeHost('client@h');
  const lb = new LoadBalancer(
    host,
    {
      name: 'g',
      nodeMatchList: [],
      random: seededRandom(3),
      outlierDetection: false,
      algorithmOpts: options,
    },
    algorithm as SelectionAlgorithmClass,
  );
  host.setMembers('g', MEMBERS);
  return { host, lb };
}

const BUILT_INS = Object.entries(algorithms).filter(([name]) => name !== 'CallDirect');

describe('exclude, for every built-in algorithm', () => {
  for (const [name, algorithm] of BUILT_INS) {
    test(`${name}: never selects an excluded member`, () => {
      const { lb } = balancer(algorithm as SelectionAlgorithmClass<never>);
      const seen = new Set<string>();
      for (let i = 0; i < 200; i++) {
        const node = lb.selectNode({ key: `k${i}`, exclude: ['a@h', 'c@h'] });
        seen.add(node);
        lb.releaseNode(node);
      }
      assert.deepEqual([...seen].sort(), ['b@h', 'd@h']);
      const many = lb.selectNodes(4, { key: 'k1', exclude: ['b@h'] });
      assert.ok(!many.includes('b@h'), `${many}`);
      assert.equal(many.length, 3);
    });

    test(`${name}: excluding every member fails with all_excluded`, () => {
      const { lb } = balancer(algorithm as SelectionAlgorithmClass<never>);
      assert.throws(
        () => lb.selectNode({ key: 'k', exclude: [...MEMBERS, 'other@h'] }),
        (err: RpcError) => {
          assert.ok(err instanceof RpcError);
          assert.equal(err.code, 'service_unavailable');
          assert.equal(err.details.reason, 'all_excluded');
          return true;
        },
      );
    });
  }

  test('every built-in skips excluded members itself (honoursExclude)', () => {
    for (const [name, algorithm] of BUILT_INS) {
      const { lb } = balancer(algorithm as SelectionAlgorithmClass<never>);
      assert.equal(lb.algorithm.honoursExclude, true, name);
    }
  });

  test("excluding a member keeps its state: a LeastConnections member's count survives", () => {
    const { lb } = balancer(algorithms.LeastConnections);
    const leases = [lb.acquire(), lb.acquire(), lb.acquire(), lb.acquire()];
    const counts = () => Object.fromEntries((lb.algorithm as LeastConnections).snapshot());
    const before = counts();
    const picked = lb.selectNode({ exclude: ['a@h'] });
    assert.notEqual(picked, 'a@h');
    assert.deepEqual(counts(), { ...before, [picked]: (before[picked] as number) + 1 });
    lb.releaseNode(picked);
    for (const lease of leases) lease.release();
    assert.deepEqual(counts(), { 'a@h': 0, 'b@h': 0, 'c@h': 0, 'd@h': 0 });
  });

  test('LeastConnections with exclude picks the least loaded member left', () => {
    const { lb } = balancer(algorithms.LeastConnections);
    // load c and d: the least loaded left once a and b are excluded is... whichever of c, d has less
    const c = [
      lb.acquire({ exclude: ['a@h', 'b@h', 'd@h'] }),
      lb.acquire({ exclude: ['a@h', 'b@h', 'd@h'] }),
    ];
    assert.ok(c.every((l) => l.node === 'c@h'));
    assert.equal(lb.selectNode({ exclude: ['a@h', 'b@h'] }), 'd@h');
  });

  test('WeightedRoundRobin keeps the proportions of the members left', () => {
    const { lb } = balancer(algorithms.WeightedRoundRobin, {
      weights: { 'a@h': 3, 'b@h': 2, 'c@h': 1, 'd@h': 1 },
    });
    const counts: Record<string, number> = {};
    for (let i = 0; i < 400; i++) {
      const node = lb.selectNode({ exclude: ['a@h'] });
      counts[node] = (counts[node] ?? 0) + 1;
    }
    assert.deepEqual(counts, { 'b@h': 200, 'c@h': 100, 'd@h': 100 });
  });

  test('RoundRobin passes over excluded turns and keeps its place', () => {
    const { lb } = balancer(algorithms.RoundRobin);
    const first = lb.selectNode();
    const order = [
      ...MEMBERS.slice(MEMBERS.indexOf(first)),
      ...MEMBERS.slice(0, MEMBERS.indexOf(first)),
    ];
    const picks = [0, 1, 2, 3, 4, 5].map(() => lb.selectNode({ exclude: [order[2] as string] }));
    const expected = [order[1], order[3], order[0], order[1], order[3], order[0]];
    assert.deepEqual(picks, expected);
  });

  test("LeastLoaded keeps an excluded member's latency estimate", async () => {
    const { host, lb } = balancer(algorithms.LeastLoaded);
    host.callImpl = async (target) => target;
    for (let i = 0; i < 20; i++) await lb.call('M', 'f');
    const estimate = () => (lb.algorithm as unknown as LeastLoaded).latencyEstimate('a@h');
    const before = estimate();
    assert.notEqual(before, undefined);
    for (let i = 0; i < 20; i++) await lb.call('M', 'f', [], { exclude: ['a@h'] });
    assert.equal(
      host.calls.slice(-20).some((c) => c.target === 'a@h'),
      false,
    );
    assert.notEqual(estimate(), undefined, 'still known after calls that excluded it');
  });

  test('a malformed exclude is bad_request naming the field', () => {
    const { lb } = balancer(algorithms.Random);
    assert.throws(() => lb.selectNode({ exclude: 'a@h' as never }), {
      code: 'bad_request',
      details: { balancer: 'g', field: 'exclude' },
    });
  });

  test('lb.call with exclude: the excluded members get no call', async () => {
    const { host, lb } = balancer(algorithms.RoundRobin);
    for (let i = 0; i < 20; i++) await lb.call('M', 'f', [], { exclude: ['a@h', 'b@h'] });
    assert.deepEqual([...new Set(host.calls.map((c) => c.target))].sort(), ['c@h', 'd@h']);
  });
});

describe('HashRing and exclude', () => {
  const nodes = Object.freeze([...MEMBERS, 'e@h', 'f@h']);
  const context = (options = {}) => ({
    balancerName: 't',
    options,
    random: seededRandom(1),
    now: () => 0,
  });

  test("a key whose owner is excluded goes to its next replica (the ring's second member for it)", () => {
    const ring = new HashRing(context());
    for (let i = 0; i < 2_000; i++) {
      const key = `user-${i}`;
      const [owner, next, third] = ring.chooseNodes(nodes, 3, { key });
      assert.equal(ring.chooseFromNodes(nodes, { key, exclude: [owner as string] }), next);
      assert.equal(
        ring.chooseFromNodes(nodes, { key, exclude: [owner as string, next as string] }),
        third,
      );
      // excluding another member changes nothing for this key
      const other = nodes.find((n) => n !== owner) as string;
      assert.equal(ring.chooseFromNodes(nodes, { key, exclude: [other] }), owner);
    }
  });

  test('the next replica is where the key goes once its owner leaves the ring', () => {
    const ring = new HashRing(context());
    const without = Object.freeze(nodes.filter((n) => n !== 'c@h'));
    for (let i = 0; i < 2_000; i++) {
      const key = `user-${i}`;
      assert.equal(
        ring.chooseFromNodes(nodes, { key, exclude: ['c@h'] }),
        new HashRing(context()).chooseFromNodes(without, { key }),
      );
    }
  });

  test('chooseNodes skips excluded members, keeping ring order', () => {
    const ring = new HashRing(context());
    const all = ring.chooseNodes(nodes, 6, { key: 'k' });
    assert.deepEqual(
      ring.chooseNodes(nodes, 6, { key: 'k', exclude: [all[1] as string] }),
      all.filter((_, i) => i !== 1),
    );
  });

  test('with balanceFactor, an excluded owner is skipped and the pick counted', () => {
    const ring = new HashRing(context({ balanceFactor: 1.25 }));
    const [owner, next] = ring.chooseNodes(nodes, 2, { key: 'k' });
    assert.equal(ring.chooseFromNodes(nodes, { key: 'k', exclude: [owner as string] }), next);
    assert.equal(ring.inFlight(next as string), 1);
  });

  test('without a key: a random member that is not excluded', () => {
    const ring = new HashRing(context());
    for (let i = 0; i < 100; i++) {
      assert.equal(ring.chooseFromNodes(nodes, { exclude: nodes.slice(1) }), nodes[0]);
    }
  });
});

describe('retries exclude the member that refused', () => {
  test('a keyed retry moves to the next replica, not back to the node that refused', async () => {
    const { host, lb } = balancer(algorithms.HashRing);
    const ring = new HashRing({
      balancerName: 't',
      options: {},
      random: Math.random,
      now: () => 0,
    });
    const members = lb.members();
    for (let i = 0; i < 50; i++) {
      const key = `user-${i}`;
      const [owner, next] = ring.chooseNodes(members, 2, { key });
      host.callImpl = async (target) => {
        if (target === owner) {
          throw new RpcError('service_unavailable', 'draining', { notExecuted: true });
        }
        return target;
      };
      const before = host.calls.length;
      assert.equal(await lb.call('M', 'f', [], { key }), next, key);
      assert.deepEqual(
        host.calls.slice(before).map((c) => c.target),
        [owner, next],
      );
    }
  });

  test('with every other member excluded by the caller, a retry may go back to the same node', async () => {
    const { host, lb } = balancer(algorithms.RoundRobin);
    let refusals = 1;
    host.callImpl = async (target) => {
      if (refusals-- > 0)
        throw new RpcError('service_unavailable', 'draining', { notExecuted: true });
      return target;
    };
    const result = await lb.call('M', 'f', [], { exclude: ['a@h', 'b@h', 'c@h'] });
    assert.equal(result, 'd@h');
  });
});

describe('algorithms that do not skip excluded members themselves', () => {
  /** Always the first member, and counts what it hands out (a stateful custom algorithm). */
  class First {
    static last: First;
    readonly counts = new Map<string, number>();
    constructor() {
      First.last = this;
    }
    chooseFromNodes(nodes: readonly string[]) {
      const node = nodes[0] as string;
      this.counts.set(node, (this.counts.get(node) ?? 0) + 1);
      return node;
    }
    releaseNode(node: string) {
      this.counts.set(node, (this.counts.get(node) ?? 0) - 1);
    }
  }

  test('get the whole member list, their picks of excluded members released; then a draw', () => {
    const { lb } = balancer(First as unknown as SelectionAlgorithmClass<never>);
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const node = lb.selectNode({ exclude: ['a@h'] });
      seen.add(node);
      lb.releaseNode(node);
    }
    assert.ok(!seen.has('a@h'));
    assert.ok(seen.size > 1, 'drawn among the members left');
    // every pick it made of a@h was released, and the draws never reached it
    assert.deepEqual(Object.fromEntries(First.last.counts), { 'a@h': 0 });
  });
});

describe('ExclusionFilter', () => {
  test('keeps the filtered array per exclusion until the members change', () => {
    const filter = new ExclusionFilter();
    const members = Object.freeze(['a', 'b', 'c']);
    const one = filter.without(members, ['b']);
    assert.deepEqual(one, ['a', 'c']);
    assert.equal(filter.without(members, ['b']), one);
    assert.equal(filter.without(members, ['x']), members, 'nothing excluded: the same array');
    assert.equal(filter.without(members, ['c', 'a']), filter.without(members, ['a', 'c']));
    const changed = Object.freeze(['a', 'b', 'c', 'd']);
    assert.notEqual(filter.without(changed, ['b']), one);
  });
});
