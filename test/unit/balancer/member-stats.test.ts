/** MemberStats: in-flight counting that never goes negative, and percentiles over the last calls only. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LATENCY_RING_SIZE, MemberStats } from '../../../src/balancer/member-stats.js';

test('selections in flight, calls and errors; a release without an outcome counts no call', () => {
  const stats = new MemberStats();
  stats.selected();
  stats.selected();
  stats.released(undefined);
  stats.released({ ok: false, latencyMs: 3, code: 'request_timeout' });
  stats.released({ ok: true, latencyMs: 1 });
  assert.deepEqual(stats.snapshot('n', 0), {
    node: 'n',
    inFlight: 0,
    calls: 2,
    errors: 1,
    latencyMs: { samples: 2, p50: 1, p90: 3, p99: 3, max: 3 },
  });
});

test('percentiles are nearest-rank over the last LATENCY_RING_SIZE calls', () => {
  const stats = new MemberStats();
  // 1 000 ms for the first 100 calls, then 1..128 ms: only the last 128 count
  for (let i = 0; i < 100; i++) stats.released({ ok: true, latencyMs: 1_000 });
  for (let i = 1; i <= LATENCY_RING_SIZE; i++) stats.released({ ok: true, latencyMs: i });
  const snapshot = stats.snapshot('n', 0);
  assert.equal(snapshot.calls, 100 + LATENCY_RING_SIZE);
  assert.deepEqual(snapshot.latencyMs, {
    samples: LATENCY_RING_SIZE,
    p50: 64,
    p90: Math.ceil(0.9 * LATENCY_RING_SIZE),
    p99: Math.ceil(0.99 * LATENCY_RING_SIZE),
    max: LATENCY_RING_SIZE,
  });
});

test('the last reported load, with its age on the balancer clock', () => {
  const stats = new MemberStats();
  stats.released({ ok: true, latencyMs: 1, load: { inFlight: 7, elu: 0.25, at: 1_000 } });
  stats.released({ ok: true, latencyMs: 1 });
  assert.deepEqual(stats.snapshot('n', 1_500).load, { inFlight: 7, elu: 0.25, ageMs: 500 });
});
