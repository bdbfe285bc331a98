import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PowerOfTwo } from '../../../src/algorithms/power-of-two.js';
import type { AlgorithmContext } from '../../../src/algorithms/types.js';
import { seededRandom } from '../../helpers/random.js';

function context(seed: number): AlgorithmContext {
  return { balancerName: 'test', options: {}, random: seededRandom(seed), now: () => 0 };
}

const members = (n: number): readonly string[] =>
  Object.freeze(Array.from({ length: n }, (_, i) => `n${String(i).padStart(3, '0')}`));

describe('PowerOfTwo', () => {
  it('with one member picks it and counts every selection', () => {
    const algo = new PowerOfTwo(context(1));
    const one = members(1);
    for (let i = 0; i < 3; i++) assert.equal(algo.chooseFromNodes(one, {}), 'n000');
    assert.equal(algo.inFlight('n000'), 3);
  });

  it('with two members behaves exactly like least connections', () => {
    const algo = new PowerOfTwo(context(2));
    const two = members(2);
    const rand = seededRandom(20);
    const held: string[] = [];
    const tieWinners = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      if (held.length > 0 && rand() < 0.5) {
        algo.releaseNode(held.splice(Math.floor(rand() * held.length), 1)[0]);
        continue;
      }
      const [a, b] = [algo.inFlight('n000'), algo.inFlight('n001')];
      const picked = algo.chooseFromNodes(two, {});
      if (a === b) tieWinners.add(picked);
      else assert.equal(picked, a < b ? 'n000' : 'n001');
      held.push(picked);
    }
    assert.equal(tieWinners.size, 2, 'ties go either way');
  });

  it('draws the first candidate from the injected random source; ties take it', () => {
    const nodes = members(10);
    const algo = new PowerOfTwo(context(3));
    const mirror = seededRandom(3);
    for (let i = 0; i < 100; i++) {
      const first = Math.floor(mirror() * nodes.length); // its fraction draws the second
      const picked = algo.chooseFromNodes(nodes, {});
      assert.equal(picked, nodes[first]);
      algo.releaseNode(picked);
    }
  });

  it('never picks a heavily loaded member while lighter ones exist', () => {
    const algo = new PowerOfTwo(context(4));
    const hot = Object.freeze(['n005']);
    for (let i = 0; i < 100; i++) algo.chooseFromNodes(hot, {}); // n005 now has 100 in flight
    const nodes = members(10);
    for (let i = 0; i < 5_000; i++) {
      const picked = algo.chooseFromNodes(nodes, {});
      assert.notEqual(picked, 'n005');
      algo.releaseNode(picked);
    }
    assert.equal(algo.inFlight('n005'), 100, 'counts survive the membership change');
  });

  it('keeps load close to level without releases (max <= mean + 3)', (t) => {
    // with two choices the busiest member exceeds the mean by O(log log n); a random pick's
    // busiest exceeds it by O(sqrt(mean * log n)), about 25 here
    const algo = new PowerOfTwo(context(5));
    const nodes = members(100);
    for (let i = 0; i < 10_000; i++) algo.chooseFromNodes(nodes, {});
    const counts = [...algo.snapshot().values()];
    const [min, max] = [Math.min(...counts), Math.max(...counts)];
    t.diagnostic(`10 000 picks over 100 members, no release: min ${min}, max ${max}`);
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      10_000,
    );
    assert.ok(max <= 103 && min >= 94, `${min}..${max}`);
  });
});
