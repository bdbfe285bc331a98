import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LeastConnections } from '../../../src/algorithms/least-connections.js';
import type { AlgorithmContext } from '../../../src/algorithms/types.js';
import { seededRandom } from '../../helpers/random.js';

function context(seed: number): AlgorithmContext {
  return { balancerName: 'test', options: {}, random: seededRandom(seed), now: () => 0 };
}

const list = (names: Iterable<string>): readonly string[] => Object.freeze([...names].sort());
describe('LeastConnections', () => {
  it('a departed member reads 0 and a late release for it is ignored', () => {
    const algo = new LeastConnections(context(1));
    const abc = list('abc');
    for (let i = 0; i < 6; i++) algo.chooseFromNodes(abc, {});
    assert.deepEqual([...algo.snapshot().values()], [2, 2, 2]);
    const ab = list('ab');
    algo.onNodeChange({ type: 'leave', nodes: ['c'], members: ab });
    assert.equal(algo.inFlight('c'), 0);
    algo.releaseNode('c');
    algo.onNodeChange({ type: 'join', nodes: ['c'], members: abc });
    assert.deepEqual(
      algo.snapshot(),
      new Map([
        ['a', 2],
        ['b', 2],
        ['c', 0],
      ]),
    );
    assert.equal(algo.chooseFromNodes(abc, {}), 'c', 'the joiner is the least loaded');
  });

  it('syncs lazily when onNodeChange is never called', () => {
    const algo = new LeastConnections(context(2));
    algo.chooseFromNodes(list('ab'), {});
    algo.chooseFromNodes(list('ab'), {});
    assert.equal(algo.chooseFromNodes(list('abz'), {}), 'z');
    assert.deepEqual(
      algo.snapshot(),
      new Map([
        ['a', 1],
        ['b', 1],
        ['z', 1],
      ]),
    );
    algo.chooseFromNodes(list('bz'), {});
    assert.equal(algo.inFlight('a'), 0);
    assert.equal(algo.snapshot().has('a'), false);
  });

  it('ignores releases with nothing in flight (never negative)', () => {
    const algo = new LeastConnections(context(3));
    const nodes = list('ab');
    algo.releaseNode('a');
    algo.releaseNode('nobody');
    const picked = algo.chooseFromNodes(nodes, {});
    algo.releaseNode(picked);
    algo.releaseNode(picked);
    assert.deepEqual([...algo.snapshot().values()], [0, 0]);
  });

  it('ties spread: back-to-back selections without release cover every member', () => {
    const nodes = list(Array.from({ length: 50 }, (_, i) => `n${String(i).padStart(2, '0')}`));
    const algo = new LeastConnections(context(4));
    for (let round = 1; round <= 3; round++) {
      const seen = new Set(Array.from({ length: 50 }, () => algo.chooseFromNodes(nodes, {})));
      assert.equal(seen.size, 50, `round ${round}`);
      for (const c of algo.snapshot().values()) assert.equal(c, round);
    }
  });

  it('ties spread: select-then-release does not always pick the same member', () => {
    const nodes = list('abcde');
    const algo = new LeastConnections(context(5));
    const counts = new Map<string, number>();
    for (let i = 0; i < 5_000; i++) {
      const node = algo.chooseFromNodes(nodes, {});
      counts.set(node, (counts.get(node) ?? 0) + 1);
      algo.releaseNode(node);
    }
    assert.equal(counts.size, 5);
    for (const [node, c] of counts) assert.ok(c > 800 && c < 1_200, `${node}: ${c}`);
  });

  it('holds its invariants at 1 000 members under heavy, skewed load', () => {
    const nodes = list(Array.from({ length: 1_000 }, (_, i) => `n${String(i).padStart(4, '0')}`));
    const index = new Map(nodes.map((node, i) => [node, i]));
    const model = new Array<number>(nodes.length).fill(0);
    const algo = new LeastConnections(context(6));
    const rand = seededRandom(60);
    const outstanding: string[] = [];
    for (let i = 0; i < 30_000; i++) {
      if (outstanding.length > 0 && rand() < 0.45) {
        // release mostly recent picks, so some members stay busy far longer than others
        const j = outstanding.length - 1 - Math.floor(rand() * Math.min(10, outstanding.length));
        algo.releaseNode(outstanding[j]);
        model[index.get(outstanding[j]) ?? -1]--;
        outstanding[j] = outstanding[outstanding.length - 1];
        outstanding.pop();
      } else {
        const picked = algo.chooseFromNodes(nodes, {});
        const at = index.get(picked) ?? -1;
        assert.equal(model[at], Math.min(...model), `pick ${i} is not a minimum`);
        model[at]++;
        outstanding.push(picked);
      }
    }
    assert.deepEqual([...algo.snapshot().values()], model);
  });
});
