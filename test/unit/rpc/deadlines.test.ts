import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DeadlineQueue, type Expiring } from '../../../src/rpc/deadlines.js';
import { seededRandom } from '../../helpers/random.js';

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

  for (const order of ['oldest first', 'random'] as const) {
    test(`a steady flow that never empties the lane holds memory for the calls in flight only (${order})`, () => {
      // 256 in flight for 200 000 calls: the lane never empties, so only dropping what settled
      // as the head advances (and compacting behind a stuck head) can free it. Calls of equal
      // latency settle oldest first. Each entry carries ~1 KiB so that keeping settled entries
      // shows plainly in the heap (about 180 MiB for the entries added after the baseline).
      const gc = exposeGc();
      const random = seededRandom(11);
      const queue = new DeadlineQueue<Padded>(() => assert.fail('no expiry'));
      const window: Padded[] = [];
      const step = (i: number) => {
        const it = { ...item(`x${i}`), pad: new Array<number>(128).fill(i) };
        queue.add(it, 10_000);
        window.push(it);
        if (window.length <= 256) return;
        const k = order === 'random' ? Math.floor(random() * window.length) : 0;
        const done = window[k] as Padded;
        if (order === 'random') window[k] = window[window.length - 1] as Padded;
        else window.shift();
        if (order === 'random') window.pop();
        done.settled = true;
        queue.settled(10_000);
      };
      for (let i = 0; i < 20_000; i++) step(i);
      gc();
      const before = process.memoryUsage().heapUsed;
      for (let i = 20_000; i < 200_000; i++) step(i);
      gc();
      const grown = process.memoryUsage().heapUsed - before;
      assert.equal(window.length, 256);
      assert.ok(queue.size <= 256 + 2_100, `held ${queue.size} entries`);
      assert.ok(grown < 8 * 2 ** 20, `heap grew ${(grown / 2 ** 20).toFixed(1)} MiB`);
      queue.clear();
    });
  }
});

type Padded = Item & { pad: number[] };

/** `global.gc` without starting the test process with `--expose-gc`. */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
