/**
 * Two-speed shutdown with real processes: close() lets calls in flight finish, refuses new ones
 * with service_unavailable, is idempotent and ends with a goodbye; destroy() fails everything
 * in flight at once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster, type RemoteFailure, RequestFailed, type Worker } from '../helpers/cluster.js';

interface Outcome {
  ok: boolean;
  value?: unknown;
  code?: string;
  reason?: string;
  node?: string;
  at: number;
}

async function pair(cluster: Cluster, prefix: string): Promise<{ callee: Worker; caller: Worker }> {
  const [callee, caller] = await Promise.all([
    cluster.spawn({ name: `${prefix}-callee@127.0.0.1` }),
    cluster.spawn({ name: `${prefix}-caller@127.0.0.1` }),
  ]);
  await caller.request('connect', callee.address);
  await callee.waitForEvent((e) => e.event === 'nodeup' && e.peer === caller.name);
  return { callee, caller };
}

const naps = (w: Worker) => w.events.filter((e) => e.event === 'nap-started').length;

async function failure(request: Promise<unknown>): Promise<RemoteFailure> {
  const err = await request.then(
    (v) => assert.fail(`expected a failure, got ${JSON.stringify(v)}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RequestFailed, String(err));
  return err.failure;
}

test('close() lets calls in flight finish, refuses new ones, says goodbye, and is idempotent', async (t) => {
  const cluster = new Cluster(t);
  const { callee, caller } = await pair(cluster, 'close');
  const burst = caller.request<Outcome[]>(
    'burstTimed',
    callee.name,
    'RpcTest',
    'nap',
    [1_000],
    20,
    10_000,
  );
  await callee.waitForEvent(() => naps(callee) === 20, 5_000, '20 calls running');

  assert.equal(await callee.request('startClose'), true);
  // Draining: a new call is refused, marked as not executed so a balancer may retry it elsewhere.
  const refused = await failure(caller.request('call', callee.name, 'Test', 'echo', ['late']));
  assert.equal(refused.code, 'service_unavailable');
  assert.equal(refused.statusCode, 503);
  assert.equal(refused.details?.node, callee.name);
  assert.equal(refused.details?.reason, 'draining');
  assert.equal(refused.notExecuted, true);
  // A cast is still run while the node drains: nobody could be told it was refused, so
  // refusing it would lose it (the graceful-shutdown how-to promises nothing is lost).
  await caller.request('cast', callee.name, 'Test', 'record', ['late cast']);

  const outcomes = await burst;
  assert.deepEqual(
    outcomes.map((o) => o.ok && o.value),
    outcomes.map(() => callee.name),
    'every call in flight completed',
  );
  // close() is idempotent: calling it again, while closing and after, resolves.
  await Promise.all([callee.request('close'), callee.request('close')]);
  await callee.waitForEvent((e) => e.event === 'closed');
  await callee.request('close');

  const down = await caller.waitForEvent((e) => e.event === 'nodedown' && e.peer === callee.name);
  assert.equal(down.reason, 'goodbye');
  assert.deepEqual(
    callee.events.filter((e) => e.event === 'cast').map((e) => e.value),
    ['late cast'],
    'the late cast ran before the node closed',
  );
  const after = await failure(caller.request('call', callee.name, 'Test', 'echo', ['after']));
  assert.equal(after.code, 'service_unavailable');
  assert.equal(after.details?.reason, 'not_connected');
  assert.deepEqual(await callee.request('peers'), []);
  assert.deepEqual(await caller.request('peers'), []);
  // The process lives on: close() does not exit.
  assert.equal(callee.exited, false);
  assert.equal(
    await callee
      .request('call', callee.name, 'Test', 'whoami', [])
      .catch((e: RequestFailed) => e.code),
    'service_unavailable',
  );
});

test('close() leaves every group first: peers see one leave per group while its calls still run, then the goodbye', async (t) => {
  const cluster = new Cluster(t);
  const { callee, caller } = await pair(cluster, 'leave');
  for (const group of ['g', 'h', 'lb']) await caller.request('monitor', group);
  // Joined twice (two leaves would be needed), once, and through a balancer.
  await callee.request('join', 'g');
  await callee.request('join', 'g');
  await callee.request('join', 'h');
  await callee.request('startLb', {});
  for (const group of ['g', 'h', 'lb']) {
    await caller.waitForEvent(
      (e) => e.event === 'group' && e.group === group && e.change === 'join',
      5_000,
      `${callee.name} in ${group}`,
    );
  }
  const burst = caller.request<Outcome[]>(
    'burstTimed',
    callee.name,
    'RpcTest',
    'nap',
    [2_500],
    3,
    10_000,
  );
  await callee.waitForEvent(() => naps(callee) === 3, 5_000, '3 calls running');

  assert.equal(await callee.request('startClose'), true);
  const leaves = () =>
    caller.events.filter((e) => e.event === 'group' && e.change === 'leave').map((e) => e.group);
  await caller.waitForEvent(() => leaves().length === 3, 2_000, 'a leave for each group');
  // Still draining: connected, its calls running, yet in no group (peers stop choosing it).
  assert.deepEqual(await caller.request('peers'), [callee.name]);
  for (const group of ['g', 'h', 'lb'])
    assert.deepEqual(await caller.request('members', group), []);
  assert.equal(naps(callee), 3);
  assert.equal(
    caller.events.some((e) => e.event === 'nodedown'),
    false,
    'no nodedown before the calls finished',
  );

  const outcomes = await burst;
  assert.deepEqual(
    outcomes.map((o) => o.ok && o.value),
    outcomes.map(() => callee.name),
    'every call in flight completed',
  );
  const down = await caller.waitForEvent((e) => e.event === 'nodedown' && e.peer === callee.name);
  assert.equal(down.reason, 'goodbye');
  assert.deepEqual(leaves().sort(), ['g', 'h', 'lb'], 'one leave per group, none at the goodbye');
});

test('close() stops waiting after drainTimeoutMs; what still runs fails with service_unavailable', async (t) => {
  const cluster = new Cluster(t);
  const { callee, caller } = await pair(cluster, 'drain');
  const burst = caller.request<Outcome[]>(
    'burstTimed',
    callee.name,
    'RpcTest',
    'nap',
    [20_000],
    5,
    30_000,
  );
  await callee.waitForEvent(() => naps(callee) === 5, 5_000, '5 calls running');
  const started = Date.now();
  await callee.request('close', 300);
  assert.ok(Date.now() - started < 5_000, 'close did not wait for the handlers');
  for (const o of await burst) {
    assert.equal(o.ok, false);
    assert.equal(o.code, 'service_unavailable');
    assert.equal(o.node, callee.name);
    assert.ok(o.at - started < 5_000, 'failed when the connection ended, not at the timeout');
  }
});

test('destroy() fails calls in flight at once, both ways, without a goodbye', async (t) => {
  const cluster = new Cluster(t);
  const { callee, caller } = await pair(cluster, 'destroy');
  const incoming = caller.request<Outcome[]>(
    'burstTimed',
    callee.name,
    'RpcTest',
    'nap',
    [30_000],
    10,
    30_000,
  );
  const outgoing = callee.request<Outcome[]>(
    'burstTimed',
    caller.name,
    'RpcTest',
    'nap',
    [30_000],
    5,
    30_000,
  );
  await callee.waitForEvent(() => naps(callee) === 10, 5_000, '10 calls running on the callee');
  await caller.waitForEvent(() => naps(caller) === 5, 5_000, '5 calls running on the caller');

  const destroyedAt = Date.now();
  await callee.request('destroy');
  for (const o of await incoming) {
    assert.equal(o.ok, false);
    assert.equal(o.code, 'service_unavailable');
    assert.equal(o.reason, 'connection_lost');
    assert.equal(o.node, callee.name);
    assert.ok(o.at - destroyedAt < 1_000, `failed ${o.at - destroyedAt} ms after destroy()`);
  }
  for (const o of await outgoing) {
    assert.equal(o.ok, false);
    assert.equal(o.code, 'service_unavailable');
    assert.equal(o.node, caller.name);
    assert.ok(o.at - destroyedAt < 1_000, `failed ${o.at - destroyedAt} ms after destroy()`);
  }
  const down = await caller.waitForEvent((e) => e.event === 'nodedown' && e.peer === callee.name);
  assert.equal(down.reason, 'closed', 'no goodbye');
  // The caller's handlers serving the destroyed node were told to stop.
  await caller.waitForEvent(
    () => caller.events.filter((e) => e.event === 'handler-aborted').length === 5,
    3_000,
    'handlers aborted',
  );
  // Idempotent, and close() after destroy() resolves too.
  await callee.request('destroy');
  await callee.request('close');
});
