import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Random } from '../../../src/algorithms/random.js';
import type { AlgorithmContext } from '../../../src/algorithms/types.js';
import { seededRandom } from '../../helpers/random.js';

function context(seed: number): AlgorithmContext {
  return { balancerName: 'test', options: {}, random: seededRandom(seed), now: () => 0 };
}

function members(n: number): readonly string[] {
  return Object.freeze(Array.from({ length: n }, (_, i) => `n${String(i).padStart(4, '0')}`));
}

describe('Random', () => {
  it('picks nodes[floor(random() * n)]', () => {
    const nodes = members(7);
    const expected = seededRandom(11);
    const algo = new Random(context(11));
    for (let i = 0; i < 100; i++) {
      assert.equal(algo.chooseFromNodes(nodes), nodes[Math.floor(expected() * nodes.length)]);
    }
  });

  it('always returns a member, including with one member and random() near 1', () => {
    const one = members(1);
    const edge = new Random({ ...context(0), random: () => 1 - 2 ** -53 });
    assert.equal(edge.chooseFromNodes(one), one[0]);
    assert.equal(edge.chooseFromNodes(members(1000)), 'n0999');
    const algo = new Random(context(5));
    const nodes = members(13);
    const set = new Set(nodes);
    for (let i = 0; i < 10_000; i++) assert.ok(set.has(algo.chooseFromNodes(nodes)));
  });

  // chi-square critical values at p = 0.001, so a fixed seed passing is no accident of tuning
  const table = [
    { n: 2, seed: 1, critical: 10.83 },
    { n: 10, seed: 2, critical: 27.88 },
    { n: 100, seed: 3, critical: 148.23 },
  ];
  for (const { n, seed, critical } of table) {
    it(`is uniform over ${n} members (chi-square < ${critical})`, (t) => {
      const nodes = members(n);
      const index = new Map(nodes.map((node, i) => [node, i]));
      const counts = new Array<number>(n).fill(0);
      const draws = 2_000 * n;
      const algo = new Random(context(seed));
      for (let i = 0; i < draws; i++) counts[index.get(algo.chooseFromNodes(nodes)) ?? -1]++;
      const expected = draws / n;
      const chi2 = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
      t.diagnostic(`chi-square ${chi2.toFixed(2)} with ${n - 1} degrees of freedom`);
      assert.ok(chi2 < critical, `chi-square ${chi2} >= ${critical}`);
    });
  }
});
