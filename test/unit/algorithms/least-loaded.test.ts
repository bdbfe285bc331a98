import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LeastLoaded, type LeastLoadedOptions } from '../../../src/algorithms/least-loaded.js';
import type { CallOutcome } from '../../../src/algorithms/types.js';
import type { RpcErrorCode } from '../../../src/errors.js';
import { type FakeClock, fakeClock } from '../../helpers/clock.js';
import { seededRandom } from '../../helpers/random.js';

const members = (n: number): readonly string[] =>
  Object.freeze(Array.from({ length: n }, (_, i) => `n${String(i).padStart(3, '0')}`));

function make(options: LeastLoadedOptions = {}, seed = 1, clock: FakeClock = fakeClock(0)) {
  const algo = new LeastLoaded({
    balancerName: 't',
    options,
    random: seededRandom(seed),
    now: clock.now,
  });
  return { algo, clock };
}

const ok = (latencyMs: number): CallOutcome => ({ ok: true, latencyMs });
const failed = (latencyMs: number, code?: RpcErrorCode): CallOutcome => ({
  ok: false,
  latencyMs,
  code,
});

/** Picks `node` (by holding the others busy is not needed: a call on it is counted directly). */
function callOn(algo: LeastLoaded, nodes: readonly string[], node: string, outcome: CallOutcome) {
  // select until `node` comes up, releasing the others without an outcome
  for (let i = 0; i < 10 * nodes.length; i++) {
    const picked = algo.chooseFromNodes(nodes, {});
    if (picked === node) {
      algo.releaseNode(node, outcome);
      return;
    }
    algo.releaseNode(picked);
  }
  throw new Error(`${node} never came up`);
}

describe('LeastLoaded', () => {
  it('without latency information behaves as least connections, ties in turn', () => {
    const { algo } = make();
    const nodes = members(5);
    const first = nodes.map(() => algo.chooseFromNodes(nodes, {}));
    assert.deepEqual([...first].sort(), [...nodes], 'back-to-back picks visit every member once');
    const rand = seededRandom(2);
    const held = [...first];
    for (let i = 0; i < 2_000; i++) {
      if (held.length > 0 && rand() < 0.5) {
        algo.releaseNode(held.splice(Math.floor(rand() * held.length), 1)[0]);
        continue;
      }
      const counts = nodes.map((n) => algo.inFlight(n));
      const picked = algo.chooseFromNodes(nodes, {});
      assert.equal(counts[nodes.indexOf(picked)], Math.min(...counts));
      held.push(picked);
    }
  });

  it('starts each balancer at a different place among equal members', () => {
    const nodes = members(10);
    const firsts = new Set(
      [1, 2, 3, 4, 5, 6].map((seed) => make({}, seed).algo.chooseFromNodes(nodes, {})),
    );
    assert.ok(firsts.size >= 3, `first picks ${[...firsts]}`);
  });

  it('averages latency with weight 1 - exp(-Δt / decayMs), a plain mean for the first samples', () => {
    const { algo, clock } = make({ decayMs: 1_000 });
    const nodes = members(1);
    algo.chooseFromNodes(nodes, {});
    algo.releaseNode('n000', ok(10));
    assert.equal(algo.latencyEstimate('n000'), 10);
    clock.advance(10); // Δt tiny: the warm-up mean (weight 1/2) wins
    algo.chooseFromNodes(nodes, {});
    algo.releaseNode('n000', ok(20));
    const afterTwo = (algo.latencyEstimate('n000') as number) / Math.exp(0);
    assert.ok(Math.abs(afterTwo - 15) < 1e-9, `mean of 10 and 20: ${afterTwo}`);
    for (let i = 0; i < 50; i++) {
      clock.advance(10);
      algo.chooseFromNodes(nodes, {});
      algo.releaseNode('n000', ok(15));
    }
    clock.advance(2_000); // Δt = 2 decay times: weight 1 - e^-2 for the new sample
    algo.chooseFromNodes(nodes, {});
    const before = 15;
    algo.releaseNode('n000', ok(100));
    const expected = before + (1 - Math.exp(-2)) * (100 - before);
    assert.ok(Math.abs((algo.latencyEstimate('n000') as number) - expected) < 1e-9);
  });

  it('fades an estimate towards zero between samples, with the same time constant', () => {
    const { algo, clock } = make({ decayMs: 1_000 });
    const nodes = members(2);
    callOn(algo, nodes, 'n000', ok(40));
    clock.advance(500);
    const faded = algo.latencyEstimate('n000') as number;
    assert.ok(Math.abs(faded - 40 * Math.exp(-0.5)) < 1e-9, `${faded}`);
  });

  it('sends less to a slower member, in proportion to its latency', () => {
    const { algo, clock } = make();
    const nodes = members(4);
    const latency: Record<string, number> = { n000: 50, n001: 10, n002: 10, n003: 10 };
    const counts: Record<string, number> = { n000: 0, n001: 0, n002: 0, n003: 0 };
    const held: string[] = [];
    const rand = seededRandom(5);
    for (let i = 0; i < 20_000; i++) {
      clock.advance(1);
      const picked = algo.chooseFromNodes(nodes, {});
      counts[picked]++;
      held.push(picked);
      while (held.length > 6) {
        const node = held.splice(Math.floor(rand() * held.length), 1)[0];
        algo.releaseNode(node, ok(latency[node]));
      }
    }
    assert.ok(counts.n000 < counts.n001 / 3, JSON.stringify(counts));
    assert.ok(counts.n000 > 0, 'the slow member is still used when the others are busy');
  });

  it('lifts a member whose calls fail to at least the penalty at once', () => {
    const { algo } = make({ failurePenalty: 5 });
    const nodes = members(3);
    for (const node of nodes) callOn(algo, nodes, node, ok(10));
    assert.equal(algo.typicalLatency, 10);
    callOn(algo, nodes, 'n001', failed(0.5, 'service_unavailable'));
    assert.equal(algo.latencyEstimate('n001'), 50, 'a fast failure looks slow');
    callOn(algo, nodes, 'n002', failed(400, 'request_timeout'));
    assert.equal(algo.latencyEstimate('n002'), 400, 'a slow failure counts its own latency');
    callOn(algo, nodes, 'n000', failed(0.5, 'internal_server_error'));
    assert.equal(algo.latencyEstimate('n000'), 50, "the node's handler failing counts");
  });

  it("learns nothing from a caller's mistake or an aborted call; penaltyCodes chooses", () => {
    const nodes = members(2);
    const { algo } = make();
    for (const node of nodes) callOn(algo, nodes, node, ok(10));
    for (const code of ['bad_request', 'not_found', undefined] as const) {
      callOn(algo, nodes, 'n000', failed(0.1, code));
      assert.equal(algo.latencyEstimate('n000'), 10, String(code));
    }
    const lenient = make({ penaltyCodes: ['service_unavailable'] }).algo;
    for (const node of nodes) callOn(lenient, nodes, node, ok(10));
    callOn(lenient, nodes, 'n000', failed(0.1, 'internal_server_error'));
    assert.equal(lenient.latencyEstimate('n000'), 10);
    callOn(lenient, nodes, 'n000', failed(0.1, 'service_unavailable'));
    assert.equal(lenient.latencyEstimate('n000'), 50);
  });

  it('tries a penalised member again once its estimate has faded', () => {
    const { algo, clock } = make({ decayMs: 1_000 });
    const nodes = members(2);
    callOn(algo, nodes, 'n000', ok(10));
    callOn(algo, nodes, 'n001', ok(10));
    callOn(algo, nodes, 'n001', failed(1, 'service_unavailable')); // estimate 50
    const picks = () => {
      let n001 = 0;
      for (let i = 0; i < 100; i++) {
        const node = algo.chooseFromNodes(nodes, {});
        if (node === 'n001') n001++;
        algo.releaseNode(node);
      }
      return n001;
    };
    assert.equal(picks(), 0);
    clock.advance(1_000 * Math.log(5) + 10); // 50 fades below 10 relative to n000's faded 10
    callOn(algo, nodes, 'n000', ok(10)); // n000 sampled now: estimate 10
    assert.ok(picks() > 0);
  });

  it('gives a new member the mean estimate of the known ones', () => {
    const { algo } = make();
    const nodes = members(2);
    callOn(algo, nodes, 'n000', ok(10));
    callOn(algo, nodes, 'n001', ok(30));
    const grown = Object.freeze([...nodes, 'n002']);
    algo.onNodeChange({ type: 'join', nodes: ['n002'], members: grown });
    assert.ok(Math.abs((algo.latencyEstimate('n002') as number) - 20) < 1e-9);
  });

  it('keeps counters sane: no negatives, non-members ignored, leavers forgotten', () => {
    const { algo } = make();
    const nodes = members(3);
    algo.releaseNode('n000', ok(5));
    algo.releaseNode('nope', ok(5));
    assert.equal(algo.inFlight('n000'), 0);
    assert.equal(algo.latencyEstimate('n000'), undefined, 'not synced yet');
    const picked = algo.chooseFromNodes(nodes, {});
    assert.equal(algo.inFlight(picked), 1);
    const shrunk = Object.freeze(nodes.filter((n) => n !== picked));
    algo.onNodeChange({ type: 'leave', nodes: [picked], members: shrunk });
    algo.releaseNode(picked, ok(5));
    assert.equal(algo.inFlight(picked), 0);
    assert.equal(algo.latencyEstimate(picked), undefined);
  });

  it('always picks a cheapest member: (in flight + 1) × estimate (property)', () => {
    const nodes = members(8);
    const opArb = fc.array(
      fc.record({
        release: fc.boolean(),
        advance: fc.integer({ min: 0, max: 3_000 }),
        latency: fc.integer({ min: 1, max: 200 }),
        fail: fc.boolean(),
        index: fc.nat(),
      }),
      { maxLength: 120 },
    );
    fc.assert(
      fc.property(opArb, fc.integer(), (ops, seed) => {
        const { algo, clock } = make({ decayMs: 2_000 }, seed);
        const held: string[] = [];
        for (const op of ops) {
          clock.advance(op.advance);
          if (op.release && held.length > 0) {
            const node = held.splice(op.index % held.length, 1)[0];
            algo.releaseNode(
              node,
              op.fail ? failed(op.latency, 'request_timeout') : ok(op.latency),
            );
            continue;
          }
          const costs = nodes.map(
            (n) => (algo.inFlight(n) + 1) * (algo.latencyEstimate(n) ?? Number.NaN),
          );
          const picked = algo.chooseFromNodes(nodes, {});
          held.push(picked);
          const min = Math.min(...costs.filter((c) => !Number.isNaN(c)));
          const cost = costs[nodes.indexOf(picked)];
          if (!Number.isNaN(cost)) assert.ok(cost <= min * (1 + 1e-3), `${cost} > ${min}`);
        }
      }),
      { seed: 0x11ad, numRuns: 200 },
    );
  });

  it('validates its options, naming the field', () => {
    const bad: [LeastLoadedOptions, RegExp][] = [
      [{ decayMs: 0 }, /decayMs must be a number >= 1, got 0/],
      [{ failurePenalty: 0.5 }, /failurePenalty must be a number >= 1/],
      [{ penaltyCodes: ['nope' as RpcErrorCode] }, /penaltyCodes must be an array of error codes/],
      [{ slowStart: { windowMs: -1 } }, /slowStart\.windowMs/],
    ];
    for (const [options, message] of bad) assert.throws(() => make(options), message);
  });

  it("with peakSensitive, a latency above the estimate replaces it (Finagle's peak EWMA)", () => {
    const { algo, clock } = make({ peakSensitive: true });
    const nodes = members(1);
    for (const latency of [10, 10, 10, 80]) {
      clock.advance(5);
      algo.chooseFromNodes(nodes, {});
      algo.releaseNode('n000', ok(latency));
    }
    assert.ok(Math.abs((algo.latencyEstimate('n000') as number) - 80) < 1e-9);
  });
});
