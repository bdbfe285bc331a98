import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RetryBudget, type RetryBudgetOptions } from '../../../src/balancer/retry-budget.js';
import { fakeClock } from '../../helpers/clock.js';

function drain(budget: RetryBudget): number {
  let n = 0;
  while (budget.tryWithdraw()) n++;
  return n;
}

describe('RetryBudget', () => {
  it("allows Finagle's reserve without calls: 10 per second over the 10 s window", () => {
    const budget = new RetryBudget({}, fakeClock(0).now);
    assert.equal(budget.balance(), 100);
    assert.equal(drain(budget), 100);
    assert.equal(budget.tryWithdraw(), false);
  });

  it('adds 20 % of the calls made in the window', () => {
    const budget = new RetryBudget({}, fakeClock(0).now);
    for (let i = 0; i < 1_000; i++) budget.deposit();
    assert.equal(drain(budget), 300);
  });

  it('refills as old retries leave the window', () => {
    const clock = fakeClock(0);
    const budget = new RetryBudget(
      { ttlMs: 10_000, minRetriesPerSecond: 1, percentCanRetry: 0 },
      clock.now,
    );
    assert.equal(drain(budget), 10);
    clock.advance(5_000);
    assert.equal(budget.tryWithdraw(), false, 'still inside the window');
    clock.advance(5_000);
    assert.equal(drain(budget), 10, 'the retries of 10 s ago no longer count');
  });

  it('lets deposits expire too', () => {
    const clock = fakeClock(0);
    const budget = new RetryBudget({ minRetriesPerSecond: 0, percentCanRetry: 50 }, clock.now);
    for (let i = 0; i < 10; i++) budget.deposit();
    assert.equal(budget.balance(), 5);
    clock.advance(9_000);
    assert.equal(budget.balance(), 5);
    clock.advance(1_000);
    assert.equal(budget.balance(), 0);
    clock.advance(1_000_000);
    budget.deposit();
    assert.equal(budget.balance(), 0.5, 'a long idle gap leaves only new traffic');
  });

  it('validates its options, naming the field', () => {
    const now = fakeClock(0).now;
    const bad: [RetryBudgetOptions, RegExp][] = [
      [{ ttlMs: 0 }, /ttlMs must be a number >= 1/],
      [{ minRetriesPerSecond: -1 }, /minRetriesPerSecond must be a number >= 0/],
      [{ percentCanRetry: Number.NaN }, /percentCanRetry/],
    ];
    for (const [options, message] of bad)
      assert.throws(() => new RetryBudget(options, now), message);
  });
});
