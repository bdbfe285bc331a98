/**
 * Load balancer scenarios with real worker processes: the original how-to's connection-tracking
 * patterns, counters back to zero after every kind of outcome, a node killed mid-call, a
 * graceful close under load, and a slow worker.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cluster, type RequestFailed, type Worker } from '../helpers/cluster.js';

const WORKERS = ['w1@127.0.0.1', 'w2@127.0.0.1', 'w3@127.0.0.1'];

/** Three workers in group `lb` and a client that only selects (filtered out by name). */
async function startCluster(
  t: { after(fn: () => unknown): void },
  algorithm: string,
  workerOptions: (name: string) => Record<string, unknown> = () => ({}),
): Promise<{ cluster: Cluster; client: Worker; workers: Worker[] }> {
  const cluster = new Cluster(t);
  const first = await cluster.spawn({ name: WORKERS[0], ...workerOptions(WORKERS[0] as string) });
  const rest = await Promise.all(
    WORKERS.slice(1).map((name) =>
      cluster.spawn({ name, seeds: [first.address], ...workerOptions(name) }),
    ),
  );
  const workers = [first, ...rest];
  await Promise.all(workers.map((w) => w.request('startLb', { algorithm })));
  const client = await cluster.spawn({ name: 'client@127.0.0.1', seeds: [first.address] });
  await client.request('startLb', { algorithm, match: ['/^w\\d/'] });
  await eventually(
    async () => (await client.request<string[]>('lbMembers')).length === 3,
    10_000,
    'client to see 3 members',
  );
  return { cluster, client, workers };
}

/** Polls an async condition every 25 ms until it holds; fails the test after `timeoutMs`. */
async function eventually(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

const counters = (w: Worker) => w.request<Record<string, number>>('lbCounters');
const sum = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);

for (const algorithm of ['LeastConnections', 'PowerOfTwo']) {
  describe(`${algorithm} connection tracking`, () => {
    test('lb.call and manual select/release spread load and return every counter to zero', async (t) => {
      const { client } = await startCluster(t, algorithm);
      // 30 concurrent calls that take a while: while they run, the counters hold them.
      const running = Promise.all(
        Array.from({ length: 30 }, () => client.request('lbCall', 'Test', 'sleep', [400])),
      );
      await eventually(async () => sum(await counters(client)) === 30, 5_000, '30 calls in flight');
      const during = await counters(client);
      if (algorithm === 'LeastConnections') assert.deepEqual(Object.values(during), [10, 10, 10]);
      const served = await running;
      assert.equal(new Set(served).size, 3, 'every worker served calls');
      assert.deepEqual(Object.values(await counters(client)), [0, 0, 0]);

      // The how-to's manual pattern: selectNode, node.call, releaseNode in finally.
      const manual = await client.request<string[]>('lbManual', 'Test', 'sleep', [100], 30);
      assert.equal(manual.length, 30);
      assert.deepEqual(Object.values(await counters(client)), [0, 0, 0]);
    });

    test('counters return to zero after calls that throw, time out, are aborted, and after casts', async (t) => {
      const { client } = await startCluster(t, algorithm);
      await assert.rejects(
        client.request('lbCall', 'Test', 'boom', ['x']),
        (e: RequestFailed) => e.code === 'internal_server_error',
      );
      await assert.rejects(
        client.request('lbCall', 'Test', 'sleep', [3_000], { timeout: 150 }),
        (e: RequestFailed) => e.code === 'request_timeout',
      );
      await assert.rejects(
        client.request('lbCallAbort', 'Test', 'sleep', [3_000], 100),
        /aborted by test/,
      );
      await client.request('lbCast', 'Test', 'record', ['hello']);
      await assert.rejects(
        client.request('lbCall', 'Nope', 'f', []),
        (e: RequestFailed) => e.code === 'not_found',
      );
      assert.deepEqual(Object.values(await counters(client)), [0, 0, 0]);
    });
  });
}

test('a node killed with calls in flight leaves no counter behind', async (t) => {
  const { client, workers } = await startCluster(t, 'LeastConnections');
  const calls = Array.from({ length: 30 }, () =>
    client.request('lbCall', 'Test', 'sleep', [1_500], { timeout: 20_000 }).then(
      () => 'ok',
      (e: RequestFailed) => e.code,
    ),
  );
  await eventually(async () => sum(await counters(client)) === 30, 5_000, '30 calls in flight');
  const victim = workers[1] as Worker;
  victim.kill('SIGKILL');
  const outcomes = await Promise.all(calls);
  assert.equal(
    outcomes.filter((o) => o === 'service_unavailable').length,
    10,
    'the victim’s 10 calls fail',
  );
  assert.equal(outcomes.filter((o) => o === 'ok').length, 20);
  const after = await counters(client);
  assert.equal(victim.name in after, false, 'the dead node has no counter');
  assert.deepEqual(Object.values(after), [0, 0]);
});

test('graceful close of one worker under continuous load loses zero calls', async (t) => {
  const { client, workers } = await startCluster(t, 'RoundRobin');
  const load = client.request<{ perNode: Record<string, number>; errors: Record<string, number> }>(
    'lbLoad',
    'Test',
    'work',
    [3],
    2_500,
    16,
  );
  await new Promise((r) => setTimeout(r, 800));
  await (workers[1] as Worker).request('close');
  const { perNode, errors } = await load;
  t.diagnostic(`calls per node: ${JSON.stringify(perNode)}`);
  assert.deepEqual(errors, {}, 'no call failed');
  assert.ok(
    (perNode[WORKERS[1] as string] ?? 0) > 0,
    'the closed worker served calls before closing',
  );
  assert.ok((perNode[WORKERS[0] as string] ?? 0) > 0 && (perNode[WORKERS[2] as string] ?? 0) > 0);
});

test('with one slow worker, LeastConnections and PowerOfTwo send it fewer calls than RoundRobin', async (t) => {
  const shares: Record<string, number> = {};
  for (const algorithm of ['RoundRobin', 'LeastConnections', 'PowerOfTwo']) {
    const { client, cluster } = await startCluster(t, algorithm, (name) =>
      name === WORKERS[2] ? { behaviour: { delayMs: 40 } } : { behaviour: { delayMs: 2 } },
    );
    const { perNode, errors } = await client.request<{
      perNode: Record<string, number>;
      errors: Record<string, number>;
    }>('lbLoad', 'Test', 'work', [0], 1_200, 12);
    assert.deepEqual(errors, {});
    const total = sum(perNode);
    shares[algorithm] = (perNode[WORKERS[2] as string] ?? 0) / total;
    cluster.cleanup();
  }
  t.diagnostic(`slow worker's share: ${JSON.stringify(shares)}`);
  assert.ok((shares.RoundRobin as number) > 0.3, 'round robin gives the slow node its third');
  assert.ok((shares.LeastConnections as number) < (shares.RoundRobin as number) / 2);
  assert.ok((shares.PowerOfTwo as number) < (shares.RoundRobin as number) / 1.5);
});

test('lb.stop() leaves the group at once, waits for its own calls while the node keeps serving; the name can be started again', async (t) => {
  const cluster = new Cluster(t);
  const worker = await cluster.spawn({ name: 'stop-w1@127.0.0.1' });
  const client = await cluster.spawn({ name: 'stop-client@127.0.0.1', seeds: [worker.address] });
  await worker.request('startLb', {});
  await client.request('startLb', { match: ['/^stop-w/'] });
  const clientMembers = () => client.request<string[]>('lbMembers');
  await eventually(async () => (await clientMembers()).length === 1, 10_000, 'client sees w1');

  // The worker's own balancer call (to itself, its only member) is in flight while it stops.
  let callEndedAt = 0;
  const call = worker
    .request('lbCall', 'RpcTest', 'nap', [1_500])
    .finally(() => (callEndedAt = Date.now()));
  await worker.waitForEvent((e) => e.event === 'nap-started', 5_000, 'the call running');
  const stops = [worker.request('lbStop'), worker.request('lbStop')].map((p) =>
    p.then(() => Date.now()),
  );

  // Peers stop choosing it at once, while its call still runs; it keeps serving direct calls.
  await eventually(async () => (await clientMembers()).length === 0, 1_000, 'the worker to leave');
  assert.equal(callEndedAt, 0, 'left the group before its call ended');
  assert.equal(await client.request('call', worker.name, 'Test', 'whoami', []), worker.name);
  const noMember = await client
    .request('lbCall', 'Test', 'whoami', [], { waitForMembers: false })
    .then(
      () => assert.fail('expected service_unavailable'),
      (e: RequestFailed) => e.failure,
    );
  assert.equal(noMember.code, 'service_unavailable');
  assert.equal(noMember.details?.reason, 'no_members');

  // Both stop() calls end after the call they waited for, which completed.
  assert.equal(await call, worker.name);
  for (const stoppedAt of await Promise.all(stops)) assert.ok(stoppedAt >= callEndedAt);
  // Stopped: no longer registered under its name, which can be started again.
  await assert.rejects(worker.request('lbMembers'), /no balancer lb/);
  await worker.request('startLb', {});
  await assert.rejects(worker.request('startLb', {}), /already running/);
  await eventually(async () => (await clientMembers()).length === 1, 5_000, 'the worker back');
  assert.equal(await client.request('lbCall', 'Test', 'whoami', []), worker.name);
});
