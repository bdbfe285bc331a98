/**
 * Heartbeat ticks grouped by interval: every registered tick once an interval, on the wall
 * clock's multiples, the first within an interval; one timer however many connections; a
 * removed tick is not called again; a throwing tick does not starve the others.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { everyInterval } from '../../../src/transport/tick-groups.js';

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_250 }));
afterEach(() => mock.timers.reset());

/** Advances the mocked clock in steps (a single big step shows callbacks the final time). */
function advance(ms: number, step: number): void {
  for (let t = 0; t < ms; t += step) mock.timers.tick(Math.min(step, ms - t));
}

test('ticks together on the multiples of the interval, each once an interval', () => {
  const calls: string[] = [];
  const stopA = everyInterval(1_000, () => calls.push(`a@${Date.now()}`));
  mock.timers.tick(500);
  const stopB = everyInterval(1_000, () => calls.push(`b@${Date.now()}`));
  mock.timers.tick(249);
  assert.deepEqual(calls, [], 'nothing before the next multiple');
  mock.timers.tick(1);
  assert.deepEqual(
    calls,
    ['a@1001000', 'b@1001000'],
    'the first tick within an interval, together',
  );
  advance(2_000, 1_000);
  assert.deepEqual(calls.slice(2), ['a@1002000', 'b@1002000', 'a@1003000', 'b@1003000']);
  stopA();
  stopA(); // idempotent
  mock.timers.tick(1_000);
  assert.deepEqual(calls.slice(6), ['b@1004000']);
  stopB();
  advance(5_000, 1_000);
  assert.equal(calls.length, 7, 'no tick after the last one left');
});

test('intervals apart keep their own pace; the same function twice counts twice', () => {
  let fast = 0;
  let slow = 0;
  const tick = () => fast++;
  const stops = [
    everyInterval(100, tick),
    everyInterval(100, tick),
    everyInterval(300, () => slow++),
  ];
  advance(900, 50);
  assert.equal(fast, 18);
  assert.equal(slow, 3);
  for (const stop of stops) stop();
});

test('a tick that throws does not keep the others from ticking, and its error surfaces', () => {
  let ok = 0;
  const stops = [
    everyInterval(200, () => {
      throw new Error('a buggy tick');
    }),
    everyInterval(200, () => ok++),
  ];
  assert.throws(() => mock.timers.tick(200), /a buggy tick/);
  assert.equal(ok, 1);
  for (const stop of stops) stop();
});
