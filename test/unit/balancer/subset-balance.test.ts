/**
 * Even load under deterministic subsetting, whatever the algorithm: a deterministic simulation
 * (seeded `random`, fake clock) of every caller of a balancer picking with immediate release,
 * through real balancers. The figure is max/mean of the picks per member over all callers.
 *
 * Print the figures: `npm run build && node scripts/run-tests.mjs subset-balance` (they are the
 * test's diagnostics).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LeastConnections } from '../../../src/algorithms/least-connections.js';
import { LeastCpu } from '../../../src/algorithms/least-cpu.js';
import { LeastLoaded } from '../../../src/algorithms/least-loaded.js';
import { PowerOfTwo } from '../../../src/algorithms/power-of-two.js';
import { ProbingLeastLoaded } from '../../../src/algorithms/probing-least-loaded.js';
import { Random } from '../../../src/algorithms/random.js';
import { RoundRobin } from '../../../src/algorithms/round-robin.js';
import type { SelectionAlgorithmClass } from '../../../src/algorithms/types.js';
import { WeightedRoundRobin } from '../../../src/algorithms/weighted-round-robin.js';
import { windowShares } from '../../../src/balancer/aperture.js';
import { LoadBalancer } from '../../../src/balancer/load-balancer.js';
import { callersGroup } from '../../../src/balancer/subset-options.js';
import { FakeHost } from '../../helpers/fake-balancer-host.js';
import { seededRandom } from '../../helpers/random.js';

const ALGORITHMS: Record<string, SelectionAlgorithmClass> = {
  Random,
  RoundRobin,
  LeastConnections,
  PowerOfTwo,
  LeastLoaded,
  WeightedRoundRobin,
  // the other built-ins (but HashRing, which subsetting refuses), with no load reports here
  ProbingLeastLoaded,
  LeastCpu,
} as Record<string, SelectionAlgorithmClass>;

const names = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}@h`);

interface Spread {
  maxOverMean: number;
  minOverMean: number;
  largestWindow: number;
}

/** max/mean (and min/mean) of the picks per member, `picks` picks per caller. */
function simulate(
  algorithm: SelectionAlgorithmClass,
  n: number,
  c: number,
  minAperture: number | false,
  picks: number,
): Spread {
  let t = 0;
  const now = () => t;
  const members = names('m', n);
  const callers = names('c', c);
  const balancers = callers.map((name, i) => {
    const host = new FakeHost(name);
    host.setMembers('work', members);
    const lb = new LoadBalancer(
      host,
      {
        name: 'work',
        nodeMatchList: [],
        subset: minAperture === false ? false : { minAperture },
        random: seededRandom(7919 * (i + 1)),
        now,
      },
      algorithm,
    );
    host.setMembers(callersGroup('work'), callers);
    return lb;
  });
  const counts = new Map(members.map((m) => [m, 0]));
  for (let round = 0; round < picks; round++) {
    for (const lb of balancers) {
      const lease = lb.acquire();
      counts.set(lease.node, (counts.get(lease.node) as number) + 1);
      t += 0.01;
      lease.release({ ok: true, latencyMs: 1, at: t });
    }
  }
  const values = [...counts.values()];
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const largestWindow = Math.max(...balancers.map((lb) => lb.subset()?.window.length ?? 0));
  return {
    maxOverMean: Math.max(...values) / mean,
    minOverMean: Math.min(...values) / mean,
    largestWindow,
  };
}

const format = (s: Spread) =>
  `max/mean ${s.maxOverMean.toFixed(3)}, min/mean ${s.minOverMean.toFixed(3)}, window ≤ ${s.largestWindow}`;

describe('subset balance', () => {
  for (const [n, c, minAperture, picks] of [
    [90, 10, 12, 12_000],
    [61, 7, 8, 8_000],
  ] as const) {
    test(`N=${n}, C=${c}, minAperture ${minAperture}: every algorithm within 1.15 of the mean`, (t) => {
      for (const [name, algorithm] of Object.entries(ALGORITHMS)) {
        const spread = simulate(algorithm, n, c, minAperture, picks);
        t.diagnostic(`${name}: ${format(spread)}`);
        assert.ok(spread.maxOverMean <= 1.15, `${name}: ${format(spread)}`);
        assert.ok(spread.minOverMean >= 0.85, `${name}: ${format(spread)}`);
      }
    });
  }

  test('for scale: the same picks without subsetting (the spread of a random choice)', (t) => {
    for (const algorithm of [Random, PowerOfTwo] as SelectionAlgorithmClass[]) {
      const spread = simulate(algorithm, 90, 10, false, 12_000);
      t.diagnostic(`${algorithm.name} without subsetting: ${format(spread)}`);
      assert.equal(spread.largestWindow, 0);
      assert.ok(spread.maxOverMean < 1.15);
    }
  });

  test('why a quota: leaving a light member out at random is undone by LeastLoaded', (t) => {
    // The same callers, driving the algorithm directly with the draw the quota replaced: each
    // member below the window's largest share is left out with probability 1 − share/largest.
    const n = 90;
    const c = 10;
    const members = names('m', n);
    const counts = new Float64Array(n);
    const callers = Array.from({ length: c }, (_, i) => {
      const shares = windowShares(n, c, i, 12);
      const slots = [...shares.keys()].sort((a, b) => a - b);
      const largest = Math.max(...shares.values());
      const random = seededRandom(31 * (i + 1));
      const algorithm = new LeastLoaded({
        balancerName: 'work',
        options: {},
        random,
        now: () => 0,
      });
      return {
        window: Object.freeze(slots.map((j) => members[j] as string)),
        ratio: slots.map((j) => (shares.get(j) as number) / largest),
        slots,
        algorithm,
        random,
      };
    });
    for (let round = 0; round < 12_000; round++) {
      for (const caller of callers) {
        const exclude = caller.window.filter(
          (_, k) => caller.random() >= (caller.ratio[k] as number),
        );
        const node = caller.algorithm.chooseFromNodes(caller.window, { exclude });
        counts[caller.slots[caller.window.indexOf(node)] as number]++;
        caller.algorithm.releaseNode(node, { ok: true, latencyMs: 1, at: 0 });
      }
    }
    const mean = counts.reduce((a, b) => a + b, 0) / n;
    const ratio = Math.max(...counts) / mean;
    t.diagnostic(`LeastLoaded with a random draw: max/mean ${ratio.toFixed(3)}`);
    assert.ok(ratio > 1.3, `${ratio}`);
  });
});
