import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InFlightCounters } from '../../../src/algorithms/in-flight-counters.js';
import { LeastConnections } from '../../../src/algorithms/least-connections.js';
import { PowerOfTwo } from '../../../src/algorithms/power-of-two.js';
import type { AlgorithmContext } from '../../../src/algorithms/types.js';
import { seededRandom } from '../../helpers/random.js';

function context(seed: number): AlgorithmContext {
  return { balancerName: 'test', options: {}, random: seededRandom(seed), now: () => 0 };
}

const list = (names: Iterable<string>): readonly string[] => Object.freeze([...names].sort());

const POOL = ['a', 'b', 'c', 'd', 'e', 'f'];

type Op =
  | { kind: 'select' }
  | { kind: 'release'; node: string }
  | { kind: 'join' | 'leave'; node: string; notify: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Op>({ kind: 'select' }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(...POOL).map((node): Op => ({ kind: 'release', node })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({
        kind: fc.constantFrom('join' as const, 'leave' as const),
        node: fc.constantFrom(...POOL),
        notify: fc.boolean(),
      })
      .map((op): Op => op),
  },
);

type CountingAlgorithm = LeastConnections | PowerOfTwo;

/**
 * Replays `ops` against the algorithm and a model of its contract. The model syncs when the
 * algorithm may (a pick, or a notified change), so lazily noticed changes are modelled exactly.
 */
function replay(
  algo: CountingAlgorithm,
  ops: Op[],
  onPick: (picked: number, counts: number[]) => void,
): void {
  const current = new Set(['a', 'b']);
  let nodes = list(current);
  let model = new Map<string, number>();
  const sync = () => {
    model = new Map(nodes.map((n) => [n, model.get(n) ?? 0]));
  };
  for (const op of ops) {
    if (op.kind === 'select') {
      if (nodes.length === 0) continue;
      sync();
      const picked = algo.chooseFromNodes(nodes, {});
      const count = model.get(picked);
      assert.ok(count !== undefined, `picked non-member ${picked}`);
      onPick(count, [...model.values()]);
      model.set(picked, count + 1);
    } else if (op.kind === 'release') {
      algo.releaseNode(op.node);
      const count = model.get(op.node);
      if (count !== undefined && count > 0) model.set(op.node, count - 1);
    } else {
      if (op.kind === 'join') current.add(op.node);
      else current.delete(op.node);
      const type = op.kind;
      nodes = list(current);
      if (op.notify) {
        algo.onNodeChange({ type, nodes: [op.node], members: nodes });
        sync();
      }
    }
    const snapshot = algo.snapshot();
    assert.deepEqual(snapshot, model);
    for (const [node, c] of snapshot) {
      assert.ok(c >= 0, `negative count for ${node}`);
      assert.equal(algo.inFlight(node), c);
    }
  }
}

const opsArb = fc.array(opArb, { maxLength: 200 });

describe('in-flight counters (LeastConnections and PowerOfTwo)', () => {
  it('LeastConnections property: counters follow the contract; every pick is a minimum', () => {
    fc.assert(
      fc.property(opsArb, fc.integer(), (ops, seed) => {
        replay(new LeastConnections(context(seed)), ops, (picked, counts) => {
          assert.equal(picked, Math.min(...counts));
        });
      }),
      { seed: 20_240_601, numRuns: 300 },
    );
  });

  it('PowerOfTwo property: same counters; never the unique maximum; least with two', () => {
    fc.assert(
      fc.property(opsArb, fc.integer(), (ops, seed) => {
        replay(new PowerOfTwo(context(seed)), ops, (picked, counts) => {
          if (counts.length <= 2) assert.equal(picked, Math.min(...counts));
          const below = counts.filter((c) => c < picked).length;
          if (counts.length >= 2) assert.ok(below < counts.length - 1, 'picked the unique max');
        });
      }),
      { seed: 20_240_602, numRuns: 300 },
    );
  });

  it('InFlightCounters keeps its order index consistent through growth and rebuilds', () => {
    const counters = new InFlightCounters();
    const rand = seededRandom(77);
    let nodes = list(['a', 'b', 'c', 'd']);
    counters.sync(nodes);
    const model = new Map(nodes.map((n) => [n, 0]));
    for (let i = 0; i < 5_000; i++) {
      if (i % 1_000 === 999) {
        nodes = list([...nodes.filter((n) => n !== 'a'), `x${i}`]);
        counters.sync(nodes);
        model.delete('a');
        model.set(`x${i}`, 0);
        continue;
      }
      const slot = rand() < 0.7 ? counters.pickLeast(rand) : Math.floor(rand() * nodes.length);
      if (rand() < 0.6) {
        counters.acquire(slot);
        model.set(nodes[slot], (model.get(nodes[slot]) ?? 0) + 1);
      } else if (counters.release(nodes[slot])) {
        model.set(nodes[slot], (model.get(nodes[slot]) ?? 0) - 1);
      }
      const least = counters.countAt(counters.pickLeast(rand));
      assert.equal(least, Math.min(...model.values()));
    }
    assert.deepEqual(counters.snapshot(), new Map([...model].sort()));
    assert.equal(
      counters.total(),
      [...model.values()].reduce((a, b) => a + b, 0),
    );
  });
});
