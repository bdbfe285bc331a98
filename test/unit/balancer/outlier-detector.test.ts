import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { CallOutcome } from '../../../src/algorithms/types.js';
import {
  type OutlierDetectionOptions,
  OutlierDetector,
  type OutlierEvent,
} from '../../../src/balancer/outlier-detector.js';
import type { RpcErrorCode } from '../../../src/errors.js';
import { fakeClock } from '../../helpers/clock.js';

const members = (n: number): readonly string[] =>
  Object.freeze(Array.from({ length: n }, (_, i) => `n${String(i).padStart(2, '0')}`));
const OK: CallOutcome = { ok: true, latencyMs: 1 };
const fail = (code: RpcErrorCode = 'service_unavailable'): CallOutcome => ({
  ok: false,
  latencyMs: 1,
  code,
});
/** Only the consecutive-failures rule, so a test sees one detector at a time. */
const CONSECUTIVE: OutlierDetectionOptions = { failurePercentage: false, successRate: false };

function make(options: OutlierDetectionOptions = CONSECUTIVE, n = 10) {
  const clock = fakeClock(0);
  const events: OutlierEvent[] = [];
  const detector = new OutlierDetector(options, clock.now, (e) => events.push(e));
  const nodes = members(n);
  detector.sync(nodes);
  return { detector, clock, events, nodes };
}

describe('OutlierDetector', () => {
  it('ejects after 5 unhealthy failures in a row; a success resets the run', () => {
    const { detector, nodes, events } = make();
    for (let i = 0; i < 4; i++) detector.record('n03', fail());
    detector.record('n03', OK);
    for (let i = 0; i < 4; i++) detector.record('n03', fail('request_timeout'));
    assert.equal(detector.filter(nodes), nodes, 'nobody ejected: the same array');
    detector.record('n03', fail());
    const left = detector.filter(nodes);
    assert.deepEqual(
      left,
      nodes.filter((n) => n !== 'n03'),
    );
    assert.ok(Object.isFrozen(left));
    assert.equal(detector.filter(nodes), left, 'the same array while nothing changes');
    assert.deepEqual(events, [
      {
        type: 'eject',
        node: 'n03',
        reason: 'consecutive_failures',
        durationMs: 30_000,
        timesEjected: 1,
      },
    ]);
  });

  it("does not count a caller's mistake or a handler's exception, unless configured", () => {
    const { detector, nodes } = make();
    for (const code of ['bad_request', 'not_found', 'internal_server_error'] as const) {
      for (let i = 0; i < 10; i++) detector.record('n01', fail(code));
    }
    assert.deepEqual(detector.ejected(), []);
    assert.equal(detector.filter(nodes), nodes);
    const strict = make({ ...CONSECUTIVE, unhealthyCodes: ['internal_server_error'] });
    for (let i = 0; i < 5; i++) strict.detector.record('n01', fail('internal_server_error'));
    assert.deepEqual(strict.detector.ejected(), ['n01']);
  });

  it('ejects for base × times ejected, capped, and the multiplier decays while healthy', () => {
    const { detector, clock, nodes } = make({
      ...CONSECUTIVE,
      baseEjectionTimeMs: 1_000,
      maxEjectionTimeMs: 2_500,
      intervalMs: 10_000,
    });
    const ejectFor = () => {
      for (let i = 0; i < 5; i++) detector.record('n00', fail());
      const at = clock.now();
      while (detector.filter(nodes).length !== nodes.length) clock.advance(1);
      return clock.now() - at;
    };
    assert.equal(ejectFor(), 1_000);
    assert.equal(ejectFor(), 2_000);
    assert.equal(ejectFor(), 2_500, 'capped at maxEjectionTimeMs');
    clock.advance(25_000); // a few intervals in the pool: the multiplier drops by one each
    detector.filter(nodes);
    assert.equal(ejectFor(), 1_000);
  });

  it('ejects at most maxEjectionPercent of the members (at least one)', () => {
    const { detector, nodes } = make({ ...CONSECUTIVE, maxEjectionPercent: 20 });
    for (const node of ['n01', 'n02', 'n03'])
      for (let i = 0; i < 5; i++) detector.record(node, fail());
    assert.deepEqual(detector.ejected(), ['n01', 'n02']);
    assert.equal(detector.filter(nodes).length, 8);
    const small = make(CONSECUTIVE, 3);
    for (let i = 0; i < 5; i++) small.detector.record('n00', fail());
    assert.deepEqual(small.detector.ejected(), ['n00'], '10 % of 3 rounds down, but one may go');
  });

  it('balances over everyone when too few members are healthy (panic)', () => {
    const lone = make(CONSECUTIVE, 1);
    for (let i = 0; i < 5; i++) lone.detector.record('n00', fail());
    assert.deepEqual(lone.detector.ejected(), ['n00']);
    assert.equal(lone.detector.filter(lone.nodes), lone.nodes, '0 % healthy < 50 %: all');
    const pair = make(CONSECUTIVE, 2);
    for (let i = 0; i < 5; i++) pair.detector.record('n00', fail());
    assert.deepEqual(pair.detector.filter(pair.nodes), ['n01'], '50 % healthy is not panic');
  });

  it('runs the failure-percentage detector once per interval', () => {
    const { detector, clock, nodes, events } = make({
      consecutiveFailures: 0,
      successRate: false,
      failurePercentage: { threshold: 85, minimumHosts: 5, requestVolume: 50 },
    });
    for (const node of nodes) {
      for (let i = 0; i < 60; i++)
        detector.record(node, node === 'n07' && i % 10 !== 0 ? fail() : OK);
    }
    assert.deepEqual(detector.ejected(), [], 'not before the interval ends');
    clock.advance(10_000);
    detector.filter(nodes);
    assert.deepEqual(detector.ejected(), ['n07']);
    assert.equal(events[0]?.type === 'eject' && events[0].reason, 'failure_percentage');
  });

  it('runs the success-rate detector once per interval', () => {
    const { detector, clock, nodes } = make({ consecutiveFailures: 0, failurePercentage: false });
    for (const node of nodes) {
      for (let i = 0; i < 100; i++) {
        const bad = node === 'n02' ? i % 2 === 0 : i % 50 === 0;
        detector.record(node, bad ? fail() : OK);
      }
    }
    clock.advance(10_000);
    detector.filter(nodes);
    assert.deepEqual(detector.ejected(), ['n02']);
  });

  it('forgets members that leave and starts joiners healthy', () => {
    const { detector, nodes } = make();
    for (let i = 0; i < 5; i++) detector.record('n04', fail());
    const without = Object.freeze(nodes.filter((n) => n !== 'n04'));
    detector.sync(without);
    assert.deepEqual(detector.ejected(), []);
    detector.sync(nodes);
    assert.equal(detector.filter(nodes), nodes);
    detector.record('stranger', fail());
  });

  it('never offers an ejected member unless in panic (property)', () => {
    const nodes = members(6);
    const opArb = fc.array(
      fc.record({
        node: fc.constantFrom(...nodes),
        outcome: fc.constantFrom<CallOutcome>(
          OK,
          fail(),
          fail('request_timeout'),
          fail('bad_request'),
        ),
        advance: fc.integer({ min: 0, max: 20_000 }),
      }),
      { maxLength: 200 },
    );
    fc.assert(
      fc.property(
        opArb,
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        (ops, maxPct, panicPct) => {
          const clock = fakeClock(0);
          const detector = new OutlierDetector(
            {
              consecutiveFailures: 2,
              maxEjectionPercent: maxPct,
              panicThresholdPercent: panicPct,
              failurePercentage: { requestVolume: 3, minimumHosts: 2 },
            },
            clock.now,
          );
          detector.sync(nodes);
          for (const op of ops) {
            clock.advance(op.advance);
            detector.record(op.node, op.outcome);
            const offered = detector.filter(nodes);
            const ejected = detector.ejected();
            const limit = Math.max(1, Math.floor((nodes.length * maxPct) / 100));
            assert.ok(ejected.length <= limit, `${ejected.length} ejected > ${limit}`);
            const panic = (nodes.length - ejected.length) * 100 < panicPct * nodes.length;
            if (panic) assert.equal(offered, nodes);
            else for (const node of ejected) assert.ok(!offered.includes(node), `${node} offered`);
          }
        },
      ),
      { seed: 0x0e1ec7, numRuns: 200 },
    );
  });

  it('validates its options, naming the field', () => {
    const clock = fakeClock(0);
    const bad: [unknown, RegExp][] = [
      [{ consecutiveFailures: 1.5 }, /consecutiveFailures must be an integer/],
      [{ intervalMs: 0 }, /intervalMs must be a number >= 1/],
      [{ maxEjectionPercent: 120 }, /maxEjectionPercent must be a number between 0 and 100/],
      [{ failurePercentage: { threshold: -1 } }, /failurePercentage\.threshold/],
      [{ successRate: 'yes' }, /successRate must be an object or false/],
      [{ unhealthyCodes: ['boom'] }, /unhealthyCodes must be an array of error codes/],
    ];
    for (const [options, message] of bad) {
      assert.throws(
        () => new OutlierDetector(options as OutlierDetectionOptions, clock.now),
        message,
      );
    }
  });
});
