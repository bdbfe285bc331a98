import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_UNHEALTHY_CODES,
  failureCode,
  isUnhealthyFailure,
  normaliseLoad,
  outcomeLoad,
  probeOf,
} from '../../../src/algorithms/outcome.js';
import type { AlgorithmContext, CallOutcome } from '../../../src/algorithms/types.js';
import type { RpcErrorCode } from '../../../src/errors.js';

const fail = (code?: RpcErrorCode): CallOutcome => ({ ok: false, latencyMs: 1, code });

describe('isUnhealthyFailure', () => {
  it('counts a dead, unreachable, draining or silent node, not a caller or handler mistake', () => {
    const table: [CallOutcome | undefined, boolean][] = [
      [undefined, false],
      [{ ok: true, latencyMs: 1 }, false],
      [fail('service_unavailable'), true],
      [fail('request_timeout'), true],
      [fail('bad_request'), false],
      [fail('not_found'), false],
      [fail('internal_server_error'), false],
      [fail(undefined), false], // no code: an aborted call, the caller gave up
    ];
    for (const [outcome, expected] of table) {
      assert.equal(isUnhealthyFailure(outcome), expected, JSON.stringify(outcome));
    }
    assert.deepEqual([...DEFAULT_UNHEALTHY_CODES], ['service_unavailable', 'request_timeout']);
  });

  it("reads the simulator's code-less failures as a handler error", () => {
    const sim = { ok: false, latencyMs: 1, report: { queue: 0 } } as CallOutcome;
    assert.equal(failureCode(sim), 'internal_server_error');
    assert.equal(failureCode(fail(undefined)), undefined);
    assert.equal(failureCode({ ok: true, latencyMs: 1 }), undefined);
    assert.equal(isUnhealthyFailure(sim), false);
  });

  it('counts a handler exception when configured to', () => {
    const codes: RpcErrorCode[] = [...DEFAULT_UNHEALTHY_CODES, 'internal_server_error'];
    assert.equal(isUnhealthyFailure(fail('internal_server_error'), codes), true);
    assert.equal(isUnhealthyFailure(fail('bad_request'), codes), false);
  });
});

describe('normaliseLoad', () => {
  it("reads the library's shape unchanged", () => {
    assert.deepEqual(normaliseLoad({ inFlight: 3, elu: 0.25, at: 7 }, 100), {
      inFlight: 3,
      elu: 0.25,
      at: 7,
    });
  });

  it("reads the simulator's report: queue as in flight, utilisation estimated", () => {
    assert.deepEqual(normaliseLoad({ queue: 3, svcMs: 10, estLatencyMs: 40, at: 5 }, 100), {
      inFlight: 3,
      elu: 0.75,
      at: 5,
    });
    assert.deepEqual(normaliseLoad({ queue: 0 }, 100), { inFlight: 0, elu: 0, at: 100 });
  });

  it('rejects what is not a report and clamps utilisation to 0..1', () => {
    for (const bad of [undefined, null, 3, 'x', {}, { inFlight: -1 }, { queue: Number.NaN }]) {
      assert.equal(normaliseLoad(bad, 0), undefined, JSON.stringify(bad));
    }
    assert.equal(normaliseLoad({ inFlight: 1, elu: 1.7, at: 0 }, 0)?.elu, 1);
  });

  it("takes an outcome's load, or the simulator's report field", () => {
    const now = () => 9;
    assert.equal(outcomeLoad({ ok: true, latencyMs: 1 }, now), undefined);
    const load = { inFlight: 2, elu: 0.5, at: 1 };
    assert.equal(outcomeLoad({ ok: true, latencyMs: 1, load }, now), load, 'as it is, no copy');
    const simOutcome = { ok: true, latencyMs: 1, report: { queue: 4 } } as CallOutcome;
    assert.deepEqual(outcomeLoad(simOutcome, now), { inFlight: 4, elu: 0.8, at: 9 });
  });
});

describe('probeOf', () => {
  it('takes ctx.probe first, then options.probe, else nothing', () => {
    const a = () => {};
    const b = () => {};
    const base = { balancerName: 't', random: Math.random, now: () => 0 };
    const ctx = (probe: unknown, options: unknown) =>
      ({ ...base, probe, options }) as AlgorithmContext<unknown>;
    assert.equal(probeOf(ctx(a, { probe: b })), a);
    assert.equal(probeOf(ctx(undefined, { probe: b })), b);
    assert.equal(probeOf(ctx(undefined, { probe: 'no' })), undefined);
    assert.equal(probeOf(ctx(undefined, undefined)), undefined);
  });
});
