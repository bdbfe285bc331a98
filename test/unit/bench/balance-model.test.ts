import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Behaviour,
  capacityOf,
  exponential,
  ServiceQueue,
  seededRandom,
} from '../../../bench/balance/model.js';

const behaviour = (over: Partial<Behaviour> = {}): Behaviour => ({
  meanMs: 2,
  factor: 1,
  failP: 0,
  slots: 1,
  seed: 7,
  ...over,
});

/** The service times the queue will draw, from the same seeded stream (fail draw, then service). */
function draws(b: Behaviour, n: number): { fail: number; service: number }[] {
  const random = seededRandom(b.seed);
  return Array.from({ length: n }, () => {
    const fail = random();
    return { fail, service: exponential(b.meanMs * b.factor, random()) };
  });
}

describe('ServiceQueue', () => {
  it('serves one slot in FIFO order: start = max(arrival, previous end), end = start + service', () => {
    const b = behaviour();
    const q = new ServiceQueue(b);
    const expected = draws(b, 200);
    const arrivals = seededRandom(3);
    let t = 0;
    let previousEnd = 0;
    for (const { service } of expected) {
      t += exponential(2.5, arrivals());
      const a = q.admit(t);
      assert.equal(a.fail, false);
      if (a.fail) return;
      assert.equal(a.startAt, Math.max(t, previousEnd));
      assert.ok(Math.abs(a.endAt - a.startAt - service) < 1e-9);
      previousEnd = a.endAt;
    }
    assert.equal(q.served, 200);
  });

  it('with several slots, a call takes the slot that frees first', () => {
    const b = behaviour({ slots: 2 });
    const q = new ServiceQueue(b);
    const [d1, d2, d3] = draws(b, 3).map((d) => d.service) as [number, number, number];
    const first = q.admit(0);
    const second = q.admit(0);
    const third = q.admit(0);
    assert.deepEqual(first, { fail: false, startAt: 0, endAt: d1 });
    assert.deepEqual(second, { fail: false, startAt: 0, endAt: d2 });
    assert.equal(third.fail, false);
    if (third.fail) return;
    assert.equal(third.startAt, Math.min(d1, d2));
    assert.equal(q.maxInSystem, 3);
    assert.equal(q.inSystem(0), 3);
    assert.equal(q.inSystem(Math.max(d1, d2) + d3 + 1), 0);
  });

  it('fails the configured share of calls at once, without taking queue room', () => {
    const b = behaviour({ failP: 0.3 });
    const q = new ServiceQueue(b);
    const expected = draws(b, 10_000).filter((d) => d.fail < 0.3).length;
    let failed = 0;
    for (let i = 0; i < 10_000; i++) if (q.admit(i * 100).fail) failed++;
    assert.equal(failed, expected);
    assert.equal(q.failed, expected);
    assert.ok(failed > 2_800 && failed < 3_200, `${failed} of 10 000 failed`);
    // A failing call leaves the queue as it was: only served calls are in it.
    const all = new ServiceQueue(behaviour({ failP: 1 }));
    for (let i = 0; i < 10; i++) assert.deepEqual(all.admit(0), { fail: true });
    assert.equal(all.inSystem(0), 0);
  });

  it('a degradation multiplies the service time of the calls that arrive after it', () => {
    const b = behaviour();
    const q = new ServiceQueue(b);
    const expected = draws(b, 2);
    const before = q.admit(0);
    q.setFactor(10);
    const after = q.admit(1_000);
    assert.equal(before.fail || after.fail, false);
    if (before.fail || after.fail) return;
    assert.ok(Math.abs(before.endAt - (expected[0]?.service ?? 0)) < 1e-9);
    // The second draw was made at factor 1 by draws(); the queue drew it at factor 10.
    assert.ok(Math.abs(after.endAt - 1_000 - 10 * (expected[1]?.service ?? 0)) < 1e-9);
  });

  it('behaves as an M/M/1 queue: at 70 % load the mean time in system is 1 / (mu - lambda)', () => {
    const q = new ServiceQueue(behaviour({ meanMs: 2, seed: 11 }));
    const arrivals = seededRandom(12);
    const lambda = 0.7 / 2; // calls per ms
    let t = 0;
    let sum = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      t += exponential(1 / lambda, arrivals());
      const a = q.admit(t);
      if (!a.fail) sum += a.endAt - t;
    }
    const theory = 1 / (1 / 2 - lambda); // 6.67 ms
    assert.ok(Math.abs(sum / n / theory - 1) < 0.05, `mean ${sum / n} ms, theory ${theory} ms`);
  });

  it('refuses impossible behaviours', () => {
    assert.throws(() => new ServiceQueue(behaviour({ meanMs: 0 })), /meanMs/);
    assert.throws(() => new ServiceQueue(behaviour({ slots: 0 })), /slots/);
    assert.throws(() => new ServiceQueue(behaviour({ slots: 1.5 })), /slots/);
  });

  it('capacity counts slots and slowness', () => {
    assert.equal(capacityOf({ slots: 1, factor: 1 }), 1);
    assert.equal(capacityOf({ slots: 2, factor: 5 }), 0.4);
  });
});
