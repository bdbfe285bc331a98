/**
 * Process groups across real processes: replication of joins and leaves, and what survivors see
 * when a member is killed, frozen, closed, or blocks its event loop.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster, type RequestFailed, type Worker } from '../helpers/cluster.js';
import { groupEvents, nodeEvents, settleViews, spawnSeeded } from '../helpers/membership.js';

const names = (workers: readonly Worker[]) => workers.map((w) => w.name).sort();
/**
 * The group changes `worker` saw for `group` about `node`, as "join x" strings; with `fromEvent`,
 * only those among its events from that index on (an index, not a time: events are stamped when
 * the test process receives them, at millisecond resolution).
 */
const changes = (worker: Worker, group: string, node: string, fromEvent = 0) => {
  const later = new Set(worker.events.slice(fromEvent));
  return groupEvents(worker, group, node)
    .filter((e) => later.has(e))
    .map((e) => `${e.change} ${(e.nodes as string[]).join(',')}`);
};

/**
 * Has `marker` join the group `mark` and waits until every worker's monitor reported it: the
 * group events each of them forwarded before are then all in.
 */
async function flushEvents(workers: readonly Worker[], marker: Worker, mark: string) {
  await marker.request('join', mark);
  await Promise.all(
    workers.map((w) =>
      w.waitForEvent(
        (e) => e.event === 'group' && e.group === mark && e.change === 'join',
        5_000,
        `${mark} join`,
      ),
    ),
  );
}

test('joins and leaves replicate; a double join needs a double leave; one event per change', async (t) => {
  const cluster = new Cluster(t);
  const [a, b, c] = (await spawnSeeded(cluster, 3, {}, 'j')) as [Worker, Worker, Worker];
  await settleViews([a, b, c], {}, 10_000);
  for (const w of [a, b, c]) await w.request('watch', ['g', 'mark1', 'mark2']);

  await b.request('joinMany', 'g', 2);
  await a.request('join', 'g');
  await settleViews([a, b, c], { g: [a.name, b.name] }, 5_000);

  // One leave of two: b stays a member. b's later marker join travels on the same connection
  // as its leave, so once everyone saw the marker, everyone applied the leave.
  await b.request('leave', 'g');
  await flushEvents([a, b, c], b, 'mark1');
  for (const w of [a, b, c]) assert.deepEqual(await w.request('members', 'g'), [a.name, b.name]);

  await b.request('leave', 'g');
  await b.request('leave', 'never-joined');
  await settleViews([a, b, c], { g: [a.name], 'never-joined': [] }, 5_000);
  await flushEvents([a, b, c], b, 'mark2');
  for (const w of [a, b, c]) {
    assert.deepEqual(changes(w, 'g', b.name), [`join ${b.name}`, `leave ${b.name}`], w.name);
    assert.deepEqual(changes(w, 'g', a.name), [`join ${a.name}`], w.name);
  }
});

test('SIGKILL of a member: every survivor drops it within 1500 ms and each monitor sees one leave', async (t) => {
  const cluster = new Cluster(t);
  const workers = await spawnSeeded(cluster, 5, {}, 'k');
  const victim = workers[2] as Worker;
  const survivors = workers.filter((w) => w !== victim);
  await settleViews(workers, {}, 10_000);
  for (const w of survivors) await w.request('watch', ['g', 'h', 'mark']);
  for (const w of workers) await w.request('join', 'g');
  await victim.request('joinMany', 'g', 2);
  await victim.request('join', 'h');
  await settleViews(workers, { g: names(workers), h: [victim.name] }, 5_000);

  const eventsAtKill = new Map(survivors.map((w) => [w, w.events.length]));
  const killedAt = Date.now();
  victim.kill('SIGKILL');
  const downs = await Promise.all(
    survivors.map((w) =>
      w.waitForEvent((e) => e.event === 'nodedown' && e.peer === victim.name, 5_000, 'nodedown'),
    ),
  );
  const leaves = await Promise.all(
    survivors.map((w) =>
      w.waitForEvent(
        (e) => e.event === 'group' && e.group === 'g' && e.change === 'leave',
        5_000,
        'leave of g',
      ),
    ),
  );
  const slowest = Math.max(
    ...downs.map((e) => e.at - killedAt),
    ...leaves.map((e) => e.at - killedAt),
  );
  t.diagnostic(`slowest survivor saw the SIGKILLed node leave ${slowest} ms after the kill`);
  assert.ok(slowest < 1_500, `a survivor took ${slowest} ms to drop the killed node`);
  for (const e of downs) assert.equal(e.reason, 'closed');

  await settleViews(survivors, { g: names(survivors), h: [] }, 2_000);
  await flushEvents(survivors, survivors[0] as Worker, 'mark');
  for (const w of survivors) {
    const after = (group: string) => changes(w, group, victim.name, eventsAtKill.get(w));
    assert.deepEqual(after('g'), [`leave ${victim.name}`], `${w.name} on g`);
    assert.deepEqual(after('h'), [`leave ${victim.name}`], `${w.name} on h`);
    assert.equal(nodeEvents(w, victim.name, 'nodedown').length, 1);
  }
});

test('SIGSTOP of a member: dropped on timeout within 3 s; after SIGCONT back in the mesh and its groups', async (t) => {
  const cluster = new Cluster(t);
  const workers = await spawnSeeded(cluster, 4, { heartbeatTimeoutMs: 1_500 }, 's');
  await settleViews(workers, {}, 10_000);
  for (const w of workers) await w.request('join', 'g');
  await settleViews(workers, { g: names(workers) }, 5_000);

  // A member first, then the seed every other node was started with.
  for (const victim of [workers[2], workers[0]] as Worker[]) {
    const survivors = workers.filter((w) => w !== victim);
    const stoppedAt = Date.now();
    victim.kill('SIGSTOP');
    const downs = await Promise.all(
      survivors.map((w) =>
        w.waitForEvent(
          (e) => e.event === 'nodedown' && e.peer === victim.name && e.at >= stoppedAt,
          6_000,
          `nodedown of ${victim.name}`,
        ),
      ),
    );
    const slowest = Math.max(...downs.map((e) => e.at - stoppedAt));
    t.diagnostic(`${victim.name} frozen: slowest survivor declared it down after ${slowest} ms`);
    for (const e of downs) assert.equal(e.reason, 'timeout');
    assert.ok(slowest < 3_000, `a survivor took ${slowest} ms to declare the frozen node down`);
    await settleViews(survivors, { g: names(survivors) }, 2_000);

    const resumedAt = Date.now();
    victim.kill('SIGCONT');
    await settleViews(workers, { g: names(workers) }, 15_000);
    t.diagnostic(`${victim.name} back in every view ${Date.now() - resumedAt} ms after SIGCONT`);
  }
});

test('nodedown reasons: closed after SIGKILL, timeout after SIGSTOP, goodbye after close()', async (t) => {
  const cluster = new Cluster(t);
  const workers = await spawnSeeded(cluster, 4, { heartbeatTimeoutMs: 1_500 }, 'w');
  const [observer, killed, frozen, closed] = workers as [Worker, Worker, Worker, Worker];
  await settleViews(workers, {}, 10_000);
  await closed.request('join', 'g');
  await settleViews(workers, { g: [closed.name] }, 5_000);

  killed.kill('SIGKILL');
  frozen.kill('SIGSTOP');
  await closed.request('close', 1_000);
  const reasonOf = async (w: Worker) =>
    (await observer.waitForEvent((e) => e.event === 'nodedown' && e.peer === w.name, 6_000)).reason;
  assert.equal(await reasonOf(killed), 'closed');
  assert.equal(await reasonOf(frozen), 'timeout');
  assert.equal(await reasonOf(closed), 'goodbye');
  assert.deepEqual(await observer.request('peers'), []);
  assert.deepEqual(await observer.request('members', 'g'), []);
});

test('a handler blocking the event loop past heartbeatTimeoutMs gets its node declared down', async (t) => {
  const cluster = new Cluster(t);
  const [a, b] = (await spawnSeeded(cluster, 2, { heartbeatTimeoutMs: 1_000 }, 'b')) as [
    Worker,
    Worker,
  ];
  await settleViews([a, b], {}, 10_000);
  await b.request('join', 'g');
  await settleViews([a, b], { g: [b.name] }, 5_000);

  // Shorter than the timeout: nothing happens, the call returns.
  assert.equal(await a.request('call', b.name, 'Test', 'block', [400], { timeout: 5_000 }), 400);
  assert.equal(nodeEvents(a, b.name, 'nodedown').length, 0);

  // Longer: the caller declares the blocked node down and its call fails at that moment.
  const started = Date.now();
  const call = a.request('call', b.name, 'Test', 'block', [3_000], { timeout: 10_000 }).then(
    () => ({ code: 'ok', notExecuted: undefined, at: Date.now() }),
    (err: RequestFailed) => ({
      code: err.code,
      notExecuted: err.failure.notExecuted,
      at: Date.now(),
    }),
  );
  const down = await a.waitForEvent((e) => e.event === 'nodedown' && e.peer === b.name, 5_000);
  const outcome = await call;
  t.diagnostic(
    `blocked 3000 ms with heartbeatTimeoutMs 1000: declared down (${down.reason}) after ` +
      `${down.at - started} ms; the call failed with ${outcome.code} ` +
      `(notExecuted: ${outcome.notExecuted}) after ${outcome.at - started} ms`,
  );
  assert.equal(down.reason, 'timeout');
  assert.ok(down.at - started < 2_500, 'declared down well before the block ended');
  assert.equal(outcome.code, 'service_unavailable');
  // The handler did start: the failure must not invite a blind retry elsewhere.
  assert.notEqual(outcome.notExecuted, true);
  assert.deepEqual(await a.request('members', 'g'), []);

  // Once the loop runs again the node comes back by itself, memberships included.
  await settleViews([a, b], { g: [b.name] }, 15_000);
  const bDown = nodeEvents(b, a.name, 'nodedown')[0];
  t.diagnostic(
    `back in the mesh ${Date.now() - started} ms after the call; the blocked node saw ` +
      `${a.name} down with reason ${bDown?.reason}`,
  );
});
