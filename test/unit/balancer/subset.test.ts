/**
 * Deterministic subsetting in a balancer (FakeHost): the option's validation, the callers group,
 * the window as the algorithm's member list (and how it follows joins and leaves), the share
 * quota's guarantees, and `lb.subset()`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CallDirect } from '../../../src/algorithms/call-direct.js';
import { HashRing } from '../../../src/algorithms/hash-ring.js';
import { LeastConnections } from '../../../src/algorithms/least-connections.js';
import { RoundRobin } from '../../../src/algorithms/round-robin.js';
import type {
  NodeChange,
  SelectionAlgorithm,
  SelectionAlgorithmClass,
} from '../../../src/algorithms/types.js';
import { LoadBalancer } from '../../../src/balancer/load-balancer.js';
import { callersGroup } from '../../../src/balancer/subset-options.js';
import { RpcError } from '../../../src/errors.js';
import { FakeHost } from '../../helpers/fake-balancer-host.js';
import { seededRandom } from '../../helpers/random.js';

const members = (n: number) =>
  Array.from({ length: n }, (_, i) => `m${String(i).padStart(3, '0')}@h`);
const callers = (n: number) => Array.from({ length: n }, (_, i) => `c${i}@h`);

/** Records the member arrays and changes the balancer hands it; picks the first member. */
class Recorder implements SelectionAlgorithm {
  static last: Recorder;
  readonly changes: NodeChange[] = [];
  readonly released: string[] = [];
  lastNodes: readonly string[] = [];
  constructor() {
    Recorder.last = this;
  }
  chooseFromNodes(nodes: readonly string[]) {
    this.lastNodes = nodes;
    return nodes[0] as string;
  }
  onNodeChange(change: NodeChange) {
    this.changes.push(change);
  }
  releaseNode(node: string) {
    this.released.push(node);
  }
}

/** A caller `c<index>@h` of balancer 'work' over `n` members, among `count` callers. */
function caller(
  n: number,
  count: number,
  index: number,
  subset: object | true = {},
  algorithm: SelectionAlgorithmClass = Recorder,
) {
  const host = new FakeHost(`c${index}@h`);
  host.setMembers('work', members(n));
  const lb = new LoadBalancer(
    host,
    { name: 'work', nodeMatchList: [], subset, random: seededRandom(index + 1) },
    algorithm,
  );
  host.setMembers(callersGroup('work'), callers(count));
  return { host, lb, algorithm: Recorder.last };
}

describe('subset option', () => {
  test('bad values are TypeErrors naming the field', () => {
    const host = new FakeHost();
    const bad: [unknown, RegExp][] = [
      [{ minAperture: 0 }, /"subset.minAperture" must be an integer from 1 to 1000000, received 0/],
      [{ minAperture: 2.5 }, /"subset.minAperture"/],
      [{ minAperture: '12' }, /"subset.minAperture"/],
      [
        { minApperture: 12 },
        /option "subset": unknown option "minApperture"; did you mean "minAperture"/,
      ],
      ['yes', /option "subset" must be a boolean or an object/],
      [[], /option "subset" must be a boolean or an object/],
    ];
    for (const [subset, message] of bad) {
      assert.throws(
        () => new LoadBalancer(host, { name: 'g', subset } as never, LeastConnections),
        (err: unknown) => err instanceof TypeError && message.test(err.message),
        String(subset),
      );
    }
    assert.equal(host.members(callersGroup('g')).length, 0, 'nothing joined');
  });

  test('HashRing (and a subclass) is a configuration error', () => {
    class MyRing extends HashRing {}
    for (const ring of [HashRing, MyRing]) {
      assert.throws(
        () => new LoadBalancer(new FakeHost(), { name: 'g', subset: true }, ring),
        /option "subset" cannot be used with algorithms.HashRing/,
      );
    }
    // without subsetting it is fine
    new LoadBalancer(new FakeHost(), { name: 'g', subset: false }, HashRing);
  });

  test('CallDirect ignores it (no members to subset, no callers group)', () => {
    const host = new FakeHost();
    const lb = new LoadBalancer(host, { name: 'g', subset: true }, CallDirect);
    assert.equal(lb.subset(), undefined);
    assert.equal(host.members(callersGroup('g')).length, 0);
  });

  test('off by default: no callers group, lb.subset() undefined', () => {
    const host = new FakeHost();
    const lb = new LoadBalancer(host, { name: 'g' }, LeastConnections);
    assert.equal(lb.subset(), undefined);
    assert.deepEqual(host.members(callersGroup('g')), []);
  });
});

describe('a balancer with subsetting', () => {
  test('joins the callers group whether or not it joins its own group, and leaves it on stop', async () => {
    for (const nodeMatchList of ['all', []] as const) {
      const host = new FakeHost('w1@h');
      const lb = new LoadBalancer(host, { name: 'work', nodeMatchList, subset: true }, RoundRobin);
      assert.equal(callersGroup('work'), '$rpclb.callers:work');
      assert.deepEqual(host.members(callersGroup('work')), ['w1@h']);
      assert.equal(lb.subset()?.minAperture, 12, '`true` is the default, 12');
      await lb.stop();
      assert.deepEqual(host.members(callersGroup('work')), []);
      assert.deepEqual(host.members('work'), []);
    }
  });

  test('the algorithm chooses from the window; lb.members() stays the whole group', () => {
    const { lb, algorithm } = caller(90, 10, 3, { minAperture: 12 });
    const snapshot = lb.subset();
    assert.ok(snapshot);
    assert.deepEqual([snapshot.callerIndex, snapshot.callerCount], [3, 10]);
    assert.deepEqual([snapshot.minAperture, snapshot.memberCount], [12, 90]);
    assert.equal(snapshot.window.length, 12);
    const sum = snapshot.window.reduce((total, { share }) => total + share, 0);
    assert.ok(Math.abs(sum - 1) < 1e-12);
    assert.equal(lb.members().length, 90);
    lb.releaseNode(lb.selectNode());
    assert.deepEqual(
      algorithm.lastNodes,
      snapshot.window.map(({ node }) => node),
    );
    assert.deepEqual(
      lb.inspect().members.map(({ node }) => node),
      snapshot.window.map(({ node }) => node),
      'inspect() shows the members this node selects from',
    );
    assert.deepEqual(JSON.parse(JSON.stringify(snapshot)), snapshot);
  });

  test('windows follow joins and leaves of members and of callers; the algorithm is told', () => {
    const { host, lb, algorithm } = caller(90, 10, 5, { minAperture: 12 });
    const window = () => lb.subset()?.window.map(({ node }) => node) ?? [];
    const before = window();
    assert.deepEqual(algorithm.changes.at(-1)?.members, before);
    const seen = algorithm.changes.length;
    // a member joins right before the window: it shifts by about one member
    host.setMembers('work', [...members(90), 'm044a@h']);
    const afterMember = window();
    assert.notDeepEqual(afterMember, before);
    const moved = afterMember.filter((n) => !before.includes(n)).length;
    assert.ok(moved >= 1 && moved <= 3, `${moved} members moved`);
    const told = algorithm.changes.slice(seen);
    assert.ok(told.length >= 1 && told.length <= 2);
    assert.deepEqual(told.at(-1)?.members, afterMember);
    assert.ok(told.every((change) => change.nodes.length > 0 && change.members.length > 0));
    // a caller leaves: index 5 of 10 becomes index 4 of 9, and the window moves
    host.setMembers(
      callersGroup('work'),
      callers(10).filter((c) => c !== 'c0@h'),
    );
    assert.deepEqual([lb.subset()?.callerIndex, lb.subset()?.callerCount], [4, 9]);
    assert.notDeepEqual(window(), afterMember);
    assert.deepEqual(algorithm.changes.at(-1)?.members, window());
    // the members' array keeps its identity while the window's names stay the same
    const nodes = algorithm.changes.at(-1)?.members;
    const count = algorithm.changes.length;
    host.setMembers(callersGroup('work'), [...callers(10).filter((c) => c !== 'c0@h')]);
    assert.equal(algorithm.changes.length, count);
    lb.releaseNode(lb.selectNode());
    assert.equal(algorithm.lastNodes, nodes);
  });

  test('every node both caller and member (the usual cluster): 12 members each, equal shares', () => {
    const nodes = members(30);
    const host = new FakeHost(nodes[7] as string);
    host.setMembers('work', nodes);
    host.setMembers(callersGroup('work'), nodes);
    const lb = new LoadBalancer(host, { name: 'work', subset: true }, LeastConnections);
    const snapshot = lb.subset();
    assert.deepEqual([snapshot?.callerIndex, snapshot?.callerCount], [7, 30]);
    assert.equal(snapshot?.window.length, 12);
    for (const { share } of snapshot?.window ?? []) assert.ok(Math.abs(share - 1 / 12) < 1e-12);
  });

  test('a release after its node left the window (and came back) is ignored: the lease rule', () => {
    const { host, lb, algorithm } = caller(90, 10, 5, { minAperture: 12 });
    const lease = lb.acquire();
    assert.equal(lease.node, 'm045@h', 'the first member of the window [45, 57)');
    // a caller joins before this one: index 6 of 11, the window moves to [49.1, 61.1)
    host.setMembers(callersGroup('work'), [...callers(10), 'c00@h']);
    assert.ok(!lb.subset()?.window.some(({ node }) => node === lease.node));
    assert.equal(lb.members().length, 90, 'still a member of the group');
    host.setMembers(callersGroup('work'), callers(10));
    assert.ok(lb.subset()?.window.some(({ node }) => node === lease.node));
    lease.release();
    assert.deepEqual(algorithm.released, []);
    lb.releaseNode(lb.selectNode());
    assert.deepEqual(algorithm.released, ['m045@h']);
  });

  test('the quota never empties a pick; excluding every member is still all_excluded', () => {
    const host = new FakeHost('c0@h');
    host.setMembers('work', members(90));
    const lb = new LoadBalancer(
      host,
      { name: 'work', nodeMatchList: [], subset: { minAperture: 12 }, outlierDetection: false },
      LeastConnections,
    );
    host.setMembers(callersGroup('work'), callers(10));
    const window = lb.subset()?.window ?? [];
    const largest = Math.max(...window.map(({ share }) => share));
    const full = window.filter(({ share }) => share === largest).map(({ node }) => node);
    const light = window.filter(({ share }) => share < largest).map(({ node }) => node);
    assert.deepEqual([full.length, light.length], [6, 6]);
    // the light members get their one pick of slack, then only the full ones are picked...
    for (let i = 0; i < 30; i++) lb.releaseNode(lb.selectNode());
    // ...but with every full member excluded the pick goes to a light one
    for (let i = 0; i < 20; i++) {
      const node = lb.selectNode({ exclude: full });
      assert.ok(light.includes(node), node);
      lb.releaseNode(node);
    }
    assert.throws(
      () => lb.selectNode({ exclude: window.map(({ node }) => node) }),
      (err: unknown) => err instanceof RpcError && err.details.reason === 'all_excluded',
    );
  });

  test('shares are honoured per caller: light members get half as many picks', () => {
    const { lb } = caller(90, 10, 2, { minAperture: 12 }, RoundRobin);
    const counts = new Map<string, number>();
    for (let i = 0; i < 9_000; i++) {
      const node = lb.selectNode();
      counts.set(node, (counts.get(node) ?? 0) + 1);
      lb.releaseNode(node);
    }
    for (const { node, share } of lb.subset()?.window ?? []) {
      const expected = share * 9_000;
      assert.ok(Math.abs((counts.get(node) ?? 0) - expected) <= 2, `${node}: ${counts.get(node)}`);
    }
  });
});
