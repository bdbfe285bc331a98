import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ProbingLeastLoaded,
  type ProbingLeastLoadedOptions,
} from '../../../src/algorithms/probing-least-loaded.js';
import { type FakeClock, fakeClock } from '../../helpers/clock.js';
import { seededRandom } from '../../helpers/random.js';

const NODES = Object.freeze(Array.from({ length: 10 }, (_, i) => `n${i}`));

function make(options: ProbingLeastLoadedOptions = {}, clock: FakeClock = fakeClock(0)) {
  const probes: string[] = [];
  const algo = new ProbingLeastLoaded({
    balancerName: 't',
    options,
    random: seededRandom(11),
    now: clock.now,
    probe: (node) => probes.push(node),
  });
  algo.onNodeChange({ type: 'join', nodes: NODES, members: NODES });
  return { algo, clock, probes };
}

const load = (inFlight: number, at: number) => ({ inFlight, elu: 0.5, at });

describe('ProbingLeastLoaded', () => {
  it('asks for `probes` distinct members, then picks the least loaded reported one', () => {
    const { algo, clock } = make({ probes: 3 });
    const targets = algo.probeTargets(NODES, {});
    assert.equal(targets.length, 3);
    assert.equal(new Set(targets).size, 3);
    clock.advance(0.05);
    const reported = [7, 2, 5];
    for (let i = 0; i < targets.length; i++) {
      algo.onProbeResult(targets[i], load(reported[i], clock.now()));
    }
    assert.equal(algo.chooseFromNodes(NODES, {}), targets[1]);
    assert.equal(algo.inFlight(targets[1]), 1, 'the pick is counted locally too');
  });

  it('weighs reported load by its latency estimate', () => {
    const { algo, clock } = make({ probes: 2 });
    // teach it that n0 is 10x slower than n1
    for (let i = 0; i < 20; i++) {
      const node = algo.chooseFromNodes(NODES, {});
      algo.releaseNode(node, { ok: true, latencyMs: node === 'n0' ? 100 : 10 });
    }
    clock.advance(1);
    algo.onProbeResult('n0', load(0, clock.now()));
    algo.onProbeResult('n1', load(3, clock.now()));
    assert.equal(algo.chooseFromNodes(NODES, {}), 'n1', '(3 + 1) × 10 < (0 + 1) × 100');
  });

  it('reuses fresh results within the TTL and asks only for what is missing', () => {
    const { algo, clock } = make({ probes: 3, probeTtlMs: 2, useReplyLoad: false });
    const targets = algo.probeTargets(NODES, {});
    for (const node of targets) algo.onProbeResult(node, load(1, clock.now()));
    algo.chooseFromNodes(NODES, {}); // uses one result
    clock.advance(1);
    assert.equal(algo.probeTargets(NODES, {}).length, 1, 'two fresh results left');
    clock.advance(1.5);
    assert.equal(algo.probeTargets(NODES, {}).length, 3, 'past the TTL: all stale');
  });

  it('lets a result serve `probeMaxUses` picks, counting each one there', () => {
    const { algo, clock } = make({ probes: 1, probeMaxUses: 2, probeTtlMs: 10 });
    algo.onProbeResult('n4', load(0, clock.now()));
    assert.deepEqual(algo.probeTargets(NODES, {}), []);
    assert.equal(algo.chooseFromNodes(NODES, {}), 'n4');
    assert.deepEqual(algo.probeTargets(NODES, {}), [], 'one use left');
    assert.equal(algo.chooseFromNodes(NODES, {}), 'n4');
    assert.equal(algo.probeTargets(NODES, {}).length, 1, 'used up');
  });

  it('without fresh results, probes asynchronously and picks as LeastLoaded', () => {
    const { algo, probes } = make({ probes: 2 });
    const picked = algo.chooseFromNodes(NODES, {});
    assert.ok(NODES.includes(picked));
    assert.equal(probes.length, 2, 'probes for the picks that follow');
  });

  it('pools reply trailers unless told not to', () => {
    const { algo, clock } = make({ probes: 1, probeTtlMs: 5 });
    const node = algo.chooseFromNodes(NODES, {});
    algo.releaseNode(node, { ok: true, latencyMs: 3, load: load(0, clock.now()) });
    assert.deepEqual(algo.probeTargets(NODES, {}), []);
    const off = make({ probes: 1, probeTtlMs: 5, useReplyLoad: false }).algo;
    const other = off.chooseFromNodes(NODES, {});
    off.releaseNode(other, { ok: true, latencyMs: 3, load: load(0, 0) });
    assert.equal(off.probeTargets(NODES, {}).length, 1);
  });

  it("ignores an older report arriving after a newer one, and non-members' reports", () => {
    const { algo, clock } = make({ probes: 1, probeTtlMs: 10 });
    clock.advance(5);
    algo.onProbeResult('n2', load(0, 5));
    algo.onProbeResult('n2', load(9, 4));
    algo.onProbeResult('stranger', load(0, 5));
    assert.equal(algo.chooseFromNodes(NODES, {}), 'n2');
  });

  it("records answers gathered by the caller (the simulator's queue lengths)", () => {
    const { algo } = make({ probes: 2 });
    const targets = algo.probeTargets(NODES, {});
    assert.equal(algo.chooseFromProbes(targets, [4, 1]), targets[1]);
  });

  it('validates its options, naming the field', () => {
    assert.throws(() => make({ probes: 0 }), /probes must be a positive integer/);
    assert.throws(() => make({ probeTtlMs: -1 }), /probeTtlMs must be a number >= 0/);
    assert.throws(() => make({ probeMaxUses: 1.5 }), /probeMaxUses must be a positive integer/);
  });
});
