import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  allContenders,
  behaviours,
  DEFAULT_MODEL,
  fitDuration,
  MODES,
  parseArgs,
  SCENARIOS,
  specialise,
  totalRate,
} from '../../../bench/balance/scenarios.js';

const names = Array.from({ length: 8 }, (_, i) => `w${i}-g0@127.0.0.1`);

describe('bench:balance scenarios', () => {
  it('only worker 0 misbehaves, and the load is a share of the capacity at the start', () => {
    const slow = behaviours(SCENARIOS.one_slow, DEFAULT_MODEL, 1);
    assert.deepEqual(
      slow.map((b) => b.factor),
      [5, 1, 1, 1, 1, 1, 1, 1],
    );
    assert.equal(new Set(slow.map((b) => b.seed)).size, 8);
    const failing = behaviours(SCENARIOS.fast_fail, DEFAULT_MODEL, 1);
    assert.deepEqual(
      failing.map((b) => b.failP),
      [0.3, 0, 0, 0, 0, 0, 0, 0],
    );
    const model = { ...DEFAULT_MODEL, meanMs: 2, util: 0.7 };
    // 8 workers of 500 calls/s each at 70 %, and 7 + 1/5 of them with one 5x slower.
    assert.equal(totalRate(behaviours(SCENARIOS.equal, model, 1), model), 2_800);
    assert.ok(Math.abs(totalRate(behaviours(SCENARIOS.one_slow, model, 1), model) - 2_520) < 1e-9);
    // A mid-run degradation does not lower the offered load.
    assert.equal(totalRate(behaviours(SCENARIOS.degrade, model, 1), model), 2_800);
  });

  it('has a row per exported algorithm but CallDirect, its variants, then Moleculer and NATS', () => {
    const withVariant = allContenders(['LeastLoaded']).map((c) => c.id);
    assert.deepEqual(withVariant.slice(0, 2), [
      'rpclb:LeastLoaded',
      'rpclb:LeastLoaded +slowStart',
    ]);
    const ids = allContenders(['Random', 'LeastConnections', 'CallDirect']).map((c) => c.id);
    assert.deepEqual(ids, [
      'rpclb:Random',
      'rpclb:LeastConnections',
      'moleculer:RoundRobin',
      'moleculer:CpuUsage',
      'moleculer:Latency',
      'nats:queue group',
    ]);
  });

  it('gives HashRing a key per call and WeightedRoundRobin the true speeds when they are static', () => {
    const [ring, wrr, lc] = allContenders(['HashRing', 'WeightedRoundRobin', 'LeastConnections']);
    assert.equal(specialise(ring as never, SCENARIOS.equal, names).keyed, true);
    const weights = specialise(wrr as never, SCENARIOS.one_slow, names).algorithmOpts?.weights;
    assert.deepEqual(weights, Object.fromEntries(names.map((n, i) => [n, i === 0 ? 1 : 5])));
    assert.equal(specialise(wrr as never, SCENARIOS.degrade, names).algorithmOpts, undefined);
    assert.deepEqual(specialise(lc as never, SCENARIOS.one_slow, names), lc);
  });

  it('parses options; a narrowed run is partial and writes no docs', () => {
    const full = parseArgs([]);
    assert.equal(full.partial, false);
    assert.equal(full.writeDocs, true);
    assert.deepEqual(full.mode.callers, [1, 4]);
    const quick = parseArgs(['--quick']);
    assert.deepEqual(quick.mode.callers, [4]);
    const narrow = parseArgs(['--scenarios=kill,equal', '--systems=nats', '--mean-ms=3']);
    assert.deepEqual(narrow.scenarios, ['kill', 'equal']);
    assert.deepEqual(narrow.families, ['nats']);
    assert.equal(narrow.model.meanMs, 3);
    assert.equal(narrow.partial, true);
    assert.equal(narrow.writeDocs, false);
    assert.throws(
      () => parseArgs(['--scenarios=nope']),
      /unknown scenario\(s\): nope; known: equal/,
    );
    assert.throws(() => parseArgs(['--systems=grpc']), /unknown system\(s\): grpc/);
    assert.throws(() => parseArgs(['--util=-1']), /--util must be a positive number/);
    assert.throws(() => parseArgs(['--bogus']), /unknown option --bogus/);
  });

  it('fits the measured windows into the run time target, within bounds', () => {
    const mode = { ...MODES.full, targetMs: 420_000, warmupMs: 400, durationMs: 2_500 };
    // 420 s - 35 s start-up - 6 Moleculer re-joins of 8 s, over 130 measurements, less the
    // warm-up and the per-measurement overhead.
    assert.equal(fitDuration(mode, 130, 6), Math.round(337_000 / 130 - 1_000));
    assert.equal(fitDuration(mode, 10, 0), 2_500);
    assert.equal(fitDuration(mode, 10_000, 0), mode.minDurationMs);
  });
});
