import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { AlgorithmContext } from '../../../src/algorithms/types.js';
import {
  WeightedRoundRobin,
  type WeightedRoundRobinOptions,
} from '../../../src/algorithms/weighted-round-robin.js';
import {
  EdfSchedule,
  edfCycle,
  MAX_SMOOTH_WORK,
  MAX_TABLE_LENGTH,
  RecordingSchedule,
  reduceWeights,
} from '../../../src/algorithms/wrr-schedule.js';
import { seededRandom } from '../../helpers/random.js';

type Weights = Record<string, number>;

function make(weights: Weights | undefined, seed: number, random?: () => number) {
  const ctx: AlgorithmContext<WeightedRoundRobinOptions> = {
    balancerName: 'test',
    options: weights === undefined ? {} : { weights },
    random: random ?? seededRandom(seed),
    now: () => 0,
  };
  return new WeightedRoundRobin(ctx);
}

const sorted = (names: Iterable<string>): readonly string[] => Object.freeze([...names].sort());

/** nginx's smooth weighted round robin, the naive O(n)-per-pick reference. */
function nginxCycle(nodes: readonly string[], weights: Weights): string[] {
  const w = nodes.map((n) => weights[n] ?? 1);
  const total = w.reduce((a, b) => a + b, 0);
  const current = w.map(() => 0);
  const out: string[] = [];
  for (let t = 0; t < total; t++) {
    let best = 0;
    for (let i = 0; i < w.length; i++) {
      current[i] += w[i];
      if (current[i] > current[best]) best = i;
    }
    current[best] -= total;
    out.push(nodes[best]);
  }
  return out;
}

function take(algo: WeightedRoundRobin, nodes: readonly string[], count: number): string[] {
  return Array.from({ length: count }, () => algo.chooseFromNodes(nodes));
}

/** `true` when `seq` is `cycle` started at some offset. */
function isRotationOf(seq: readonly string[], cycle: readonly string[]): boolean {
  const n = cycle.length;
  for (let k = 0; k < n; k++) {
    if (seq.every((x, t) => x === cycle[(k + t) % n])) return true;
  }
  return false;
}

function tally(seq: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const x of seq) out.set(x, (out.get(x) ?? 0) + 1);
  return out;
}

/**
 * Smoothness of a cyclic schedule: the longest run of each member, which must not exceed what
 * fits between two picks of the heaviest other member (1 + floor(w_i / max other w)), and the
 * worst deviation of any window's pick count from its ideal share.
 */
function checkSmooth(
  cycle: readonly string[],
  weights: Map<string, number>,
  maxDiscrepancy: number,
) {
  const total = cycle.length;
  for (const [node, w] of weights) {
    const others = [...weights].filter(([n]) => n !== node).map(([, x]) => x);
    if (others.length === 0) continue;
    let run = 0;
    let longest = 0;
    for (let t = 0; t < 2 * total; t++) {
      run = cycle[t % total] === node ? run + 1 : 0;
      longest = Math.max(longest, run);
    }
    const bound = 1 + Math.floor(w / Math.max(...others));
    assert.ok(longest <= bound, `${node} (weight ${w}) ran ${longest} > ${bound}`);
    let picks = 0;
    let high = 0;
    let low = 0;
    for (let t = 1; t <= total; t++) {
      if (cycle[t - 1] === node) picks++;
      const lag = picks - (t * w) / total;
      high = Math.max(high, lag);
      low = Math.min(low, lag);
    }
    assert.ok(high - low < maxDiscrepancy, `${node}: window discrepancy ${high - low}`);
  }
}

const tables: { name: string; weights: Weights; nodes: string; exact?: string }[] = [
  { name: 'equal weights', weights: {}, nodes: 'abc', exact: 'abc' },
  { name: '5:1:1 (the nginx example)', weights: { a: 5 }, nodes: 'abc', exact: 'aabacaa' },
  { name: '3:2', weights: { a: 3, b: 2 }, nodes: 'ab', exact: 'ababa' },
  { name: 'common divisor 2:4:6', weights: { a: 2, b: 4, c: 6 }, nodes: 'abc', exact: 'cbacbc' },
  { name: 'one heavy, ten light', weights: { a: 10 }, nodes: 'abcdefghijk' },
  { name: '100:1', weights: { a: 100 }, nodes: 'ab' },
  { name: '1:1:38', weights: { c: 38 }, nodes: 'abc' },
  { name: 'unlisted nodes weigh 1', weights: { x: 3, zz: 7 }, nodes: 'abx' },
];

describe('WeightedRoundRobin', () => {
  for (const { name, weights, nodes: letters, exact } of tables) {
    it(`${name}: one cycle is nginx's smooth sequence, exact proportions`, () => {
      const nodes = sorted(letters);
      const model = nginxCycle(nodes, weights);
      const total = model.length;
      const algo = make(weights, total);
      const seq = take(algo, nodes, 3 * total);
      assert.ok(isRotationOf(seq, model), seq.join(''));
      if (exact !== undefined) assert.ok(isRotationOf([...exact], model));
      for (let from = 0; from < 2 * total; from += 7) {
        const counts = tally(seq.slice(from, from + total));
        for (const node of nodes) assert.equal(counts.get(node), weights[node] ?? 1, node);
      }
      checkSmooth(model, new Map(nodes.map((n) => [n, weights[n] ?? 1])), 2);
    });
  }

  it('property: any weight table gives exact proportions and smooth runs', () => {
    const tableArb = fc.dictionary(
      fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'),
      fc.integer({ min: 1, max: 40 }),
      { minKeys: 1 },
    );
    fc.assert(
      fc.property(tableArb, fc.integer(), (weights, seed) => {
        const nodes = sorted(Object.keys(weights));
        const model = nginxCycle(nodes, weights);
        const seq = take(make(weights, seed), nodes, model.length);
        assert.ok(isRotationOf(seq, model));
        checkSmooth(seq, new Map(Object.entries(weights)), 2);
      }),
      { seed: 424_242, numRuns: 200 },
    );
  });

  it('starts at a random position of the cycle', () => {
    const nodes = sorted('abcdefgh');
    const firsts = new Set(
      [1, 2, 3, 4, 5, 6, 7, 8].map((s) => make({ a: 3 }, s).chooseFromNodes(nodes)),
    );
    assert.ok(firsts.size > 2);
    assert.equal(
      make({ a: 3 }, 0, () => 0).chooseFromNodes(nodes),
      'a',
      'position 0 is the heaviest',
    );
  });

  it('continues the cycle when the member array is rebuilt with the same members', () => {
    const weights = { a: 5, b: 3, c: 2 };
    const reference = take(make(weights, 3), sorted('abc'), 50);
    const algo = make(weights, 3);
    const seq: string[] = [];
    for (let i = 0; i < 10; i++) seq.push(...take(algo, sorted('abc'), 5)); // new array each time
    assert.deepEqual(seq, reference);
  });

  it('keeps exact proportions after a membership change', () => {
    const weights = { a: 4, b: 2, d: 3 };
    const algo = make(weights, 4);
    take(algo, sorted('abc'), 5);
    const after = sorted('abcd');
    const cycle = take(algo, after, 10);
    assert.deepEqual(
      tally(cycle),
      new Map([
        ['a', 4],
        ['b', 2],
        ['c', 1],
        ['d', 3],
      ]),
    );
    assert.ok(isRotationOf(cycle, nginxCycle(after, weights)));
  });

  it('weightOf reports the configured weight, 1 for unlisted nodes', () => {
    const algo = make({ a: 7 }, 0);
    assert.equal(algo.weightOf('a'), 7);
    assert.equal(algo.weightOf('b'), 1);
  });

  it('does not keep or mutate the caller’s weights object', () => {
    const weights = { a: 2 };
    const algo = make(weights, 0);
    weights.a = 9;
    assert.equal(algo.weightOf('a'), 2);
  });

  const badWeights: unknown[] = [
    0,
    -1,
    1.5,
    '2',
    Number.NaN,
    Number.POSITIVE_INFINITY,
    null,
    2 ** 31,
  ];
  for (const bad of badWeights) {
    it(`rejects weights.b = ${String(bad)} with a TypeError naming weights.b`, () => {
      assert.throws(() => make({ a: 1, b: bad as number }, 0), {
        name: 'TypeError',
        message: /^weights\.b must be a positive integer/,
      });
    });
  }

  for (const bad of ['x', 5, [1, 2], null] as unknown[]) {
    it(`rejects weights = ${JSON.stringify(bad)} with a TypeError naming weights`, () => {
      assert.throws(() => make(bad as Weights, 0), {
        name: 'TypeError',
        message: /^weights must be an object/,
      });
    });
  }
});

describe('WeightedRoundRobin fallback schedules (earliest deadline first)', () => {
  it('records EDF when nginx SWRR would cost too much to compute: exact, then replayed', () => {
    const nodes = sorted(Array.from({ length: 200 }, (_, i) => `n${String(i).padStart(3, '0')}`));
    const weights: Weights = Object.fromEntries(nodes.map((n, i) => [n, 1_000 + i]));
    const total = Object.values(weights).reduce((a, b) => a + b, 0);
    assert.ok(nodes.length * total > MAX_SMOOTH_WORK && total <= MAX_TABLE_LENGTH);
    const algo = make(weights, 5);
    const first = take(algo, nodes, total);
    const counts = tally(first);
    for (const node of nodes) assert.equal(counts.get(node), weights[node], node);
    checkSmooth(first, new Map(Object.entries(weights)), 4);
    assert.deepEqual(take(algo, nodes, total), first, 'the replayed cycle is the recorded one');
  });

  it('RecordingSchedule replays exactly what its periodic source produced', () => {
    const weights = new Float64Array([4, 1, 2, 7]);
    const total = reduceWeights(weights);
    const recorded = new RecordingSchedule(new EdfSchedule(weights, total, 1), total);
    const reference = new EdfSchedule(weights, total, 1);
    for (let t = 0; t < 5 * total; t++)
      assert.equal(recorded.next(), reference.next(), `step ${t}`);
  });

  it('runs a live EDF heap for cycles over 2^20 picks, still exact', () => {
    const weights: Weights = { a: 1_000_000, b: 999_999, c: 7 };
    const nodes = sorted('abc');
    const total = 2_000_006;
    assert.ok(total > MAX_TABLE_LENGTH);
    const algo = make(weights, 6);
    for (let cycle = 0; cycle < 2; cycle++) {
      const counts = new Map<string, number>();
      for (let i = 0; i < total; i++) {
        const node = algo.chooseFromNodes(nodes);
        counts.set(node, (counts.get(node) ?? 0) + 1);
      }
      assert.deepEqual(counts, new Map(Object.entries(weights)));
    }
  });

  it('EDF is periodic: the live heap repeats its first cycle exactly', () => {
    const weights = new Float64Array([3, 5, 1, 1, 8]);
    const total = reduceWeights(weights);
    const first = edfCycle(weights, total, 2);
    const live = new EdfSchedule(weights, total, 2);
    for (let cycle = 0; cycle < 3; cycle++) {
      for (let t = 0; t < total; t++)
        assert.equal(live.next(), first[t], `cycle ${cycle} step ${t}`);
    }
  });

  it('EDF interleaves equal weights instead of bunching them', () => {
    const names = 'abcdefghijk';
    const weights = new Float64Array([...names].map((_, i) => (i === 0 ? 10 : 1)));
    const total = reduceWeights(weights);
    const cycle = [...edfCycle(weights, total, 0)].map((i) => names[i]);
    checkSmooth(cycle, new Map([...names].map((n, i) => [n, weights[i]])), 4);
  });

  it('property: EDF cycles are exact and smooth for any weight table', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 12 }),
        fc.nat(),
        (list, rot) => {
          const weights = new Float64Array(list);
          const total = reduceWeights(weights);
          const cycle = [...edfCycle(weights, total, rot % list.length)].map(String);
          const expected = new Map([...weights].map((w, i) => [String(i), w]));
          assert.deepEqual(tally(cycle), expected);
          checkSmooth(cycle, expected, 4);
        },
      ),
      { seed: 99, numRuns: 300 },
    );
  });
});
