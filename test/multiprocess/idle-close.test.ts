/**
 * Idle connections on demand with real node processes and a real etcd (Debian's etcd-server,
 * started here on 127.0.0.1): a caller's connections to the workers its balancer called close
 * once unused for `idleTimeoutMs`, on both sides, with `nodedown` reason `idle`; the balancer
 * keeps every member and no group monitor sees a change; a call longer than the timeout keeps
 * its connection; the next calls dial again. Without an etcd binary the test is skipped with
 * one line.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster, type Worker, type WorkerEvent } from '../helpers/cluster.js';
import { EtcdServer } from '../helpers/servers.js';

const IDLE_MS = 400;

test('on demand through etcd: idle connections close without a departure, and calls dial again', {
  timeout: 90_000,
}, async (t) => {
  const why = EtcdServer.unavailable();
  if (why) return t.skip(why);
  const etcd = await EtcdServer.start(t);
  const cluster = new Cluster(t);
  const spawn = (id: string) =>
    cluster.spawn({
      name: `${id}@127.0.0.1`,
      heartbeatTimeoutMs: 1_500,
      connections: { mode: 'on-demand', idleTimeoutMs: IDLE_MS },
      discovery: { kind: 'etcd', hosts: etcd.url, prefix: 'idle/' },
    });
  const workers = await Promise.all(['imw1', 'imw2', 'imw3'].map(spawn));
  await Promise.all(
    workers.map((w) => w.request('startLb', { algorithm: 'RoundRobin', match: ['imw'] })),
  );
  const caller = await spawn('imc1');
  await caller.request('startLb', { algorithm: 'RoundRobin', match: ['imw'] });
  const names = workers.map((w) => w.name).sort();
  const members = () => caller.request<string[]>('lbMembers');
  const peers = (w: Worker) => w.request<string[]>('peers');
  const deadline = performance.now() + 10_000;
  while ((await members()).length < 3) {
    assert.ok(performance.now() < deadline, 'the workers via etcd');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await caller.request('monitor', 'lb');
  const idleDowns = (w: Worker) =>
    w.events.filter((e: WorkerEvent) => e.event === 'nodedown' && e.reason === 'idle').length;
  const otherDowns = (w: Worker) =>
    w.events.filter((e: WorkerEvent) => e.event === 'nodedown' && e.reason !== 'idle');

  for (let i = 0; i < 6; i++) await caller.request('lbCall', 'Test', 'whoami', []);
  assert.deepEqual(await peers(caller), names);
  const closedAll = () =>
    caller.waitForEvent(() => idleDowns(caller) >= 3, 10_000, 'three idle closes');
  await closedAll();
  for (const w of workers) {
    await w.waitForEvent(() => idleDowns(w) >= 1, 5_000, 'the idle close');
    assert.deepEqual(await peers(w), [], `${w.name} holds no connection`);
  }
  assert.deepEqual(await peers(caller), []);
  assert.deepEqual(await members(), names, 'every worker still a member');

  // A call longer than the idle timeout: its connection stays until it is answered.
  const before = idleDowns(caller);
  const served = await caller.request<string>('lbCall', 'Test', 'sleep', [IDLE_MS * 3]);
  assert.deepEqual(await peers(caller), [served], 'still connected when the call returned');
  assert.equal(idleDowns(caller), before, 'not closed while the call was in flight');

  // The next calls dial again, and every one succeeds.
  const again = new Set<string>();
  for (let i = 0; i < 6; i++)
    again.add(await caller.request<string>('lbCall', 'Test', 'whoami', []));
  assert.deepEqual([...again].sort(), names);
  await caller.waitForEvent(() => idleDowns(caller) >= before + 3, 10_000, 'closed again');
  assert.deepEqual(await members(), names);
  assert.deepEqual(
    caller.events.filter((e) => e.event === 'group'),
    [],
    'no monitor event on the caller',
  );
  for (const w of [caller, ...workers]) assert.deepEqual(otherDowns(w), [], `${w.name}: only idle`);
  t.diagnostic(`${idleDowns(caller)} idle closes seen by the caller`);
});
