import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeadlineQueue, type Expiring } from '../../../src/rpc/deadlines.js';

interface Item extends Expiring {
  name: string;
}
const item = (name: string): Item => ({ name, deadline: 0, settled: false });

describe('DeadlineQueue', () => {
  test('expires unsettled entries in order, at or after their deadline, never settled ones', async () => {
    const expired: [string, number][] = [];
    const started = performance.now();
    const queue = new DeadlineQueue<Item>((it) =>
      expired.push([it.name, performance.now() - started]),
    );
    const a = item('a');
    const b = item('b');
    const c = item('c');
    queue.add(a, 30);
    queue.add(b, 30);
    queue.add(c, 60);
    b.settled = true;
    queue.settled(30);
    await sleep(120);
    assert.deepEqual(
      expired.map(([name]) => name),
      ['a', 'c'],
    );
    assert.ok((expired[0]?.[1] ?? 0) >= 29, 'not before its deadline');
    assert.ok((expired[1]?.[1] ?? 0) >= 59, 'not before its deadline');
    assert.equal(queue.size, 0);
  });

  test('settling from the head keeps the lane empty; idle lanes are dropped', async () => {
    const queue = new DeadlineQueue<Item>(() => assert.fail('nothing should expire'));
    for (let i = 0; i < 10_000; i++) {
      const it = item(`x${i}`);
      queue.add(it, 20);
      it.settled = true;
      queue.settled(20);
    }
    assert.equal(queue.size, 0);
    assert.equal(queue.lanes, 1);
    await sleep(60);
    assert.equal(queue.lanes, 0, 'the lane was dropped once its timer found it empty');
  });

  test('a long call at the head does not make settled calls behind it pile up', () => {
    const queue = new DeadlineQueue<Item>(() => {});
    const stuck = item('stuck');
    queue.add(stuck, 10_000);
    for (let i = 0; i < 50_000; i++) {
      const it = item(`x${i}`);
      queue.add(it, 10_000);
      it.settled = true;
      queue.settled(10_000);
    }
    assert.ok(queue.size < 2_100, `held ${queue.size} entries`);
    queue.clear();
  });

  test('an entry added after the lane emptied still expires on time', async () => {
    const expired: string[] = [];
    const queue = new DeadlineQueue<Item>((it) => expired.push(it.name));
    const first = item('first');
    queue.add(first, 40);
    first.settled = true;
    queue.settled(40);
    await sleep(20);
    queue.add(item('second'), 40);
    await sleep(30);
    assert.deepEqual(expired, [], 'the old timer re-aims instead of expiring early');
    await sleep(50);
    assert.deepEqual(expired, ['second']);
  });
});
