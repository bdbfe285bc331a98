import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classify, poissonArrivals } from '../../../bench/balance/load.js';

describe('poissonArrivals', () => {
  it('arrives at the given rate, in order, inside the window, the same for the same seed', () => {
    const a = poissonArrivals(2_000, 10_000, 5);
    assert.ok(Math.abs(a.length / 20_000 - 1) < 0.03, `${a.length} arrivals for 20 000 expected`);
    for (let i = 1; i < a.length; i++) assert.ok((a[i] as number) >= (a[i - 1] as number));
    assert.ok((a[a.length - 1] as number) < 10_000);
    assert.deepEqual(
      poissonArrivals(2_000, 1_000, 5),
      a.filter((t) => t < 1_000),
    );
    assert.notDeepEqual(poissonArrivals(2_000, 1_000, 6), poissonArrivals(2_000, 1_000, 5));
  });

  it('has exponential gaps (coefficient of variation about 1)', () => {
    const a = poissonArrivals(1_000, 50_000, 9);
    const gaps = Array.from(a, (t, i) => t - (i > 0 ? (a[i - 1] as number) : 0));
    const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
    const sd = Math.sqrt(gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / gaps.length);
    assert.ok(
      Math.abs(mean - 1) < 0.03 && Math.abs(sd / mean - 1) < 0.05,
      `mean ${mean}, cv ${sd / mean}`,
    );
  });

  it('refuses a rate that is not positive', () => {
    assert.throws(() => poissonArrivals(0, 1_000, 1), /ratePerSec/);
  });
});

describe('classify', () => {
  it("reads each system's errors", () => {
    // rpc-load-balancer: the handler's exception comes back as internal_server_error.
    const remote = {
      code: 'internal_server_error',
      message: 'remote failed',
      details: { remote: { message: 'fail w3' } },
    };
    assert.deepEqual(classify(remote), { kind: 'failed', slot: 3 });
    assert.deepEqual(classify({ code: 'request_timeout', message: 'call timed out' }), {
      kind: 'timeout',
    });
    assert.deepEqual(classify({ code: 'service_unavailable', message: 'connection lost' }), {
      kind: 'unavailable',
    });
    // Moleculer
    assert.deepEqual(classify({ name: 'MoleculerError', message: 'fail w0', code: 500 }), {
      kind: 'failed',
      slot: 0,
    });
    assert.deepEqual(
      classify({ name: 'RequestTimeoutError', code: 504, message: 'Request is timed out' }),
      { kind: 'timeout' },
    );
    assert.deepEqual(
      classify({ name: 'RequestRejectedError', code: 503, message: 'Request is rejected' }),
      { kind: 'unavailable' },
    );
    // NATS (the caller turns an error reply into `fail w<slot>`)
    assert.deepEqual(classify(new Error('fail w7')), { kind: 'failed', slot: 7 });
    assert.deepEqual(classify({ name: 'TimeoutError', message: 'timeout' }), { kind: 'timeout' });
    assert.deepEqual(classify({ name: 'NoRespondersError', message: 'no responders' }), {
      kind: 'unavailable',
    });
    assert.deepEqual(classify(new Error('something else')), { kind: 'other' });
  });
});
