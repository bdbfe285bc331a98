import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lowerBound, RoundRobin } from '../../../src/algorithms/round-robin.js';
import type { AlgorithmContext } from '../../../src/algorithms/types.js';
import { seededRandom } from '../../helpers/random.js';

function context(seed: number): AlgorithmContext {
  return { balancerName: 'test', options: {}, random: seededRandom(seed), now: () => 0 };
}

const list = (...names: string[]): readonly string[] => Object.freeze([...names].sort());

function picks(algo: RoundRobin, nodes: readonly string[], count: number): string[] {
  return Array.from({ length: count }, () => algo.chooseFromNodes(nodes));
}

describe('RoundRobin', () => {
  it('starts at the seeded random index, then cycles in sorted order', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const nodes = list('a', 'b', 'c', 'd', 'e');
      const start = Math.floor(seededRandom(seed)() * nodes.length);
      const expected = Array.from({ length: 12 }, (_, i) => nodes[(start + i) % nodes.length]);
      assert.deepEqual(picks(new RoundRobin(context(seed)), nodes, 12), expected, `seed ${seed}`);
    }
  });

  it('does not always start at the same member', () => {
    const nodes = list('a', 'b', 'c', 'd', 'e');
    const firsts = new Set(
      [1, 2, 3, 4, 5, 6, 7, 8].map((s) => new RoundRobin(context(s)).chooseFromNodes(nodes)),
    );
    assert.ok(firsts.size > 1);
  });

  // each case: 'a' is picked first (random() = 0), `before` picks, then the list changes
  const changes = [
    {
      name: 'a member joins after the due one',
      from: 'abcd',
      before: 2,
      to: 'abcde',
      after: 'cdeab',
    },
    {
      name: 'a member joins before the due one',
      from: 'bcd',
      before: 1,
      to: 'abcd',
      after: 'cdab',
    },
    { name: 'the due member leaves', from: 'abcd', before: 1, to: 'acd', after: 'cda' },
    { name: 'the last member is due and leaves', from: 'abcd', before: 3, to: 'abc', after: 'abc' },
    { name: 'the just-picked member leaves', from: 'abcd', before: 2, to: 'acd', after: 'cda' },
    { name: 'same members, new array', from: 'abc', before: 2, to: 'abc', after: 'cab' },
  ];
  for (const c of changes) {
    it(`keeps its position when ${c.name}`, () => {
      const algo = new RoundRobin({ ...context(0), random: () => 0 });
      const before = list(...c.from);
      assert.deepEqual(picks(algo, before, c.before), [...c.from].slice(0, c.before));
      assert.deepEqual(picks(algo, list(...c.to), c.after.length), [...c.after]);
    });
  }

  it('stays exactly fair when the member array is rebuilt every few picks', () => {
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const algo = new RoundRobin(context(9));
    const counts = new Map<string, number>();
    for (let round = 0; round < 700; round++) {
      const nodes = list(...names); // new identity each time, as after a join and a leave
      for (const node of picks(algo, nodes, 3)) counts.set(node, (counts.get(node) ?? 0) + 1);
    }
    for (const name of names) assert.equal(counts.get(name), 300, name);
  });

  it('spreads picks evenly across a real membership change', () => {
    const algo = new RoundRobin(context(4));
    const small = list('a', 'b', 'c');
    const large = list('a', 'b', 'c', 'd', 'e', 'f');
    const counts = new Map<string, number>();
    const count = (node: string) => counts.set(node, (counts.get(node) ?? 0) + 1);
    picks(algo, small, 3).forEach(count);
    picks(algo, large, 6).forEach(count);
    assert.deepEqual([...counts.values()].sort(), [1, 1, 1, 2, 2, 2]);
    assert.deepEqual(
      [...counts.entries()]
        .filter(([, n]) => n === 2)
        .map(([k]) => k)
        .sort(),
      ['a', 'b', 'c'],
    );
  });

  it('lowerBound finds the first name >= the probe', () => {
    const nodes = list('b', 'd', 'f');
    const cases: [string, number][] = [
      ['a', 0],
      ['b', 0],
      ['c', 1],
      ['d', 1],
      ['e', 2],
      ['f', 2],
      ['g', 3],
    ];
    for (const [probe, at] of cases) assert.equal(lowerBound(nodes, probe), at, probe);
  });
});
