import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogLimiter } from '../../../src/transport/log-limiter.js';

test('one line per key per interval; the next says how many were held back', () => {
  let now = 0;
  const limiter = new LogLimiter(60_000, () => now);
  assert.equal(limiter.admit('a', 'seed a down'), 'seed a down');
  assert.equal(limiter.admit('b', 'seed b down'), 'seed b down', 'keys are independent');
  now = 30_000;
  assert.equal(limiter.admit('a', 'seed a down'), undefined);
  assert.equal(limiter.admit('a', 'seed a down'), undefined);
  now = 60_000;
  assert.equal(
    limiter.admit('a', 'seed a down'),
    'seed a down (2 more like this in the last 60 s)',
  );
  now = 125_000;
  assert.equal(limiter.admit('a', 'seed a down'), 'seed a down');
});

test('the table of keys stays bounded', () => {
  const limiter = new LogLimiter(60_000, () => 0);
  for (let i = 0; i < 5_000; i++) limiter.admit(`k${i}`, 'x');
  // The oldest keys were forgotten: they may log again.
  assert.equal(limiter.admit('k0', 'x'), 'x');
  assert.equal(limiter.admit('k4999', 'x'), undefined);
});
