import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LeastConnections } from '../../../src/algorithms/least-connections.js';
import { LeastLoaded } from '../../../src/algorithms/least-loaded.js';
import { PowerOfTwo } from '../../../src/algorithms/power-of-two.js';
import { RoundRobin } from '../../../src/algorithms/round-robin.js';
import { resolveSlowStart, SlowStart } from '../../../src/algorithms/slow-start.js';
import type { AlgorithmContext, SelectionAlgorithm } from '../../../src/algorithms/types.js';
import { fakeClock } from '../../helpers/clock.js';
import { seededRandom } from '../../helpers/random.js';

const OLD = Object.freeze(Array.from({ length: 10 }, (_, i) => `n${i}`));
const NEW = 'n9z';
const ALL = Object.freeze([...OLD, NEW].sort());

function rampedAt(clock: ReturnType<typeof fakeClock>, windowMs = 10_000): SlowStart {
  const slowStart = new SlowStart({ windowMs, minWeightPercent: 10 }, clock.now);
  slowStart.onNodeChange({ type: 'join', nodes: OLD, members: OLD });
  clock.advance(windowMs); // past the start-up grace period
  slowStart.onNodeChange({ type: 'join', nodes: [NEW], members: ALL });
  return slowStart;
}

describe('SlowStart', () => {
  it('ramps a newcomer linearly from the minimum weight to full over the window', () => {
    const clock = fakeClock(1_000);
    const slowStart = rampedAt(clock);
    const table: [number, number][] = [
      [0, 0.1],
      [500, 0.1],
      [1_000, 0.1],
      [2_500, 0.25],
      [5_000, 0.5],
      [9_999, 0.9999],
    ];
    const start = clock.now();
    for (const [age, weight] of table) {
      clock.set(start + age);
      assert.ok(Math.abs(slowStart.weight(NEW) - weight) < 1e-9, `age ${age}`);
    }
    assert.equal(slowStart.weight('n0'), 1, 'members present at the start do not ramp');
    assert.equal(slowStart.size, 1);
    clock.set(start + 10_000);
    assert.equal(slowStart.weight(NEW), 1);
    assert.equal(slowStart.size, 0, 'a member whose window is over stops ramping');
  });

  it('does not ramp members that join while the balancer itself is starting', () => {
    const clock = fakeClock(0);
    const slowStart = new SlowStart({ windowMs: 10_000, minWeightPercent: 10 }, clock.now);
    slowStart.onNodeChange({ type: 'join', nodes: ['a'], members: ['a'] });
    clock.advance(9_999);
    slowStart.onNodeChange({ type: 'join', nodes: ['b'], members: ['a', 'b'] });
    assert.equal(slowStart.weight('b'), 1);
    clock.advance(1);
    slowStart.onNodeChange({ type: 'join', nodes: ['c'], members: ['a', 'b', 'c'] });
    assert.equal(slowStart.weight('c'), 0.1);
  });

  it('forgets a member that leaves; a rejoin ramps again', () => {
    const clock = fakeClock(0);
    const slowStart = rampedAt(clock);
    clock.advance(5_000);
    slowStart.onNodeChange({ type: 'leave', nodes: [NEW], members: OLD });
    assert.equal(slowStart.size, 0);
    slowStart.onNodeChange({ type: 'join', nodes: [NEW], members: ALL });
    assert.equal(slowStart.weight(NEW), 0.1);
  });

  it('hands ramping members weight / n of the picks', () => {
    const clock = fakeClock(0);
    const slowStart = rampedAt(clock);
    assert.equal(slowStart.chooseByShare(0.099), NEW);
    assert.equal(slowStart.chooseByShare(0.1), undefined);
    clock.advance(5_000);
    assert.equal(slowStart.chooseByShare(0.499), NEW);
    assert.equal(slowStart.chooseByShare(0.5), undefined);
  });

  it('validates its options, naming the field', () => {
    assert.equal(resolveSlowStart(undefined), undefined);
    assert.equal(resolveSlowStart(false), undefined);
    assert.deepEqual(resolveSlowStart(true), { windowMs: 10_000, minWeightPercent: 10 });
    assert.deepEqual(resolveSlowStart({ windowMs: 30_000 }), {
      windowMs: 30_000,
      minWeightPercent: 10,
    });
    const bad: [unknown, RegExp][] = [
      [{ windowMs: 0 }, /slowStart\.windowMs must be a number >= 1, got 0/],
      [{ windowMs: '5s' }, /slowStart\.windowMs/],
      [{ minWeightPercent: 0 }, /slowStart\.minWeightPercent must be a number between 1 and 100/],
      [{ minWeightPercent: 101 }, /slowStart\.minWeightPercent/],
      [[], /slowStart must be an object \{ windowMs, minWeightPercent \}, got an array/],
      ['fast', /slowStart must be an object/],
    ];
    for (const [value, message] of bad) assert.throws(() => resolveSlowStart(value), message);
  });
});

type Algo = new (ctx: AlgorithmContext<{ slowStart?: object }>) => SelectionAlgorithm;

/** The newcomer's share of `picks` select-then-release picks at `age` ms into its ramp. */
function newcomerShare(Algo: Algo, age: number, picks = 22_000): number {
  const clock = fakeClock(0);
  const algo = new Algo({
    balancerName: 't',
    options: { slowStart: { windowMs: 10_000 } },
    random: seededRandom(age + 1),
    now: clock.now,
  });
  algo.onNodeChange?.({ type: 'join', nodes: OLD, members: OLD });
  clock.advance(20_000);
  algo.onNodeChange?.({ type: 'join', nodes: [NEW], members: ALL });
  clock.advance(age);
  let mine = 0;
  for (let i = 0; i < picks; i++) {
    const node = algo.chooseFromNodes(ALL, {});
    if (node === NEW) mine++;
    algo.releaseNode?.(node);
  }
  return mine / picks;
}

describe('slow start in the algorithms', () => {
  const fair = 1 / ALL.length;
  for (const Algo of [LeastConnections, PowerOfTwo, RoundRobin, LeastLoaded] as Algo[]) {
    it(`${Algo.name}: a newcomer gets about weight × its fair share, then all of it`, (t) => {
      const at0 = newcomerShare(Algo, 0);
      const at5 = newcomerShare(Algo, 5_000);
      const after = newcomerShare(Algo, 10_000);
      t.diagnostic(
        `share at 0 s ${at0.toFixed(4)}, 5 s ${at5.toFixed(4)}, 10 s ${after.toFixed(4)}`,
      );
      assert.ok(at0 > 0.5 * 0.1 * fair && at0 < 1.5 * 0.1 * fair, `at 0 s: ${at0}`);
      assert.ok(at5 > 0.8 * 0.5 * fair && at5 < 1.2 * 0.5 * fair, `at 5 s: ${at5}`);
      assert.ok(after > 0.9 * fair && after < 1.1 * fair, `after the window: ${after}`);
    });
  }

  it('without the option nothing ramps', () => {
    const clock = fakeClock(0);
    const algo = new LeastConnections({
      balancerName: 't',
      options: {},
      random: seededRandom(3),
      now: clock.now,
    });
    algo.onNodeChange({ type: 'join', nodes: OLD, members: OLD });
    clock.advance(20_000);
    algo.onNodeChange({ type: 'join', nodes: [NEW], members: ALL });
    const held = ALL.map(() => algo.chooseFromNodes(ALL, {}));
    assert.ok(held.includes(NEW), 'a newcomer at zero is least loaded at once');
  });

  it('LeastConnections still never picks a busier member than the admitted least loaded', () => {
    const clock = fakeClock(0);
    const algo = new LeastConnections({
      balancerName: 't',
      options: { slowStart: {} },
      random: seededRandom(9),
      now: clock.now,
    });
    algo.onNodeChange({ type: 'join', nodes: OLD, members: OLD });
    clock.advance(20_000);
    algo.onNodeChange({ type: 'join', nodes: [NEW], members: ALL });
    for (let i = 0; i < 2_000; i++) {
      const before = new Map(ALL.map((n) => [n, algo.inFlight(n)]));
      const node = algo.chooseFromNodes(ALL, {});
      const minOld = Math.min(...OLD.map((n) => before.get(n) as number));
      if (node !== NEW)
        assert.equal(before.get(node), minOld, 'rejected picks go to the next least');
      if (i % 3 === 0) algo.releaseNode(node);
    }
  });
});
