/**
 * `connections: 'on-demand'` with real node processes and a real etcd, then a real Redis
 * (Debian's etcd-server and redis-server, started here on 127.0.0.1): a caller sees every worker
 * through the backend without connecting to any, connects to the ones its balancer calls and to
 * no other; a SIGKILLed worker stops being selected as soon as its socket closes, though its
 * registration outlives it; a caller that never connected to it gets its dial refused and
 * retries elsewhere, with no failed call; a frozen worker is dropped after the heartbeat timeout
 * and counted again after SIGCONT. Without a server binary its test is skipped with one line.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { leaseTtlSeconds } from '../../src/discovery/etcd.js';
import { Cluster, type Worker } from '../helpers/cluster.js';
import { EtcdServer, RedisServer } from '../helpers/servers.js';

const TIMEOUT_MS = 1_500;
const TTL_S = leaseTtlSeconds(TIMEOUT_MS);

/** Polls an asynchronous `check` every 20 ms until it holds, or fails after `timeoutMs`. */
async function until(check: () => Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('on demand through etcd: connections only to what is called; crashes and freezes', {
  timeout: 90_000,
}, async (t) => {
  const why = EtcdServer.unavailable();
  if (why) return t.skip(why);
  const etcd = await EtcdServer.start(t);
  await scenario(t, { kind: 'etcd', hosts: etcd.url, prefix: 'od/' }, `lease TTL ${TTL_S} s`);
});

test('on demand through Redis: the same', { timeout: 90_000 }, async (t) => {
  const why = RedisServer.unavailable();
  if (why) return t.skip(why);
  const redis = await RedisServer.start(t);
  const discovery = { kind: 'redis', url: redis.url, prefix: 'od/', reconcileIntervalMs: 500 };
  await scenario(t, discovery, `key TTL ${TIMEOUT_MS} ms`);
});

async function scenario(t: TestContext, discovery: Record<string, unknown>, ttl: string) {
  const cluster = new Cluster(t);
  const spawn = (id: string) =>
    cluster.spawn({
      name: `${id}@127.0.0.1`,
      heartbeatTimeoutMs: TIMEOUT_MS,
      connections: 'on-demand',
      discovery,
    });
  const startLb = (w: Worker) =>
    w.request<string[]>('startLb', { algorithm: 'RoundRobin', match: ['odw'] });
  const members = (w: Worker) => w.request<string[]>('lbMembers');
  const peers = (w: Worker) => w.request<string[]>('peers');
  const workers = await Promise.all(['odw1', 'odw2', 'odw3', 'odw4'].map(spawn));
  await Promise.all(workers.map(startLb));
  const names = workers.map((w) => w.name).sort();
  const caller = await spawn('odc1');
  await startLb(caller);
  await until(
    async () => (await members(caller)).length === 4,
    10_000,
    'the workers via the backend',
  );
  assert.deepEqual(await members(caller), names);
  assert.deepEqual(await peers(caller), [], 'knowing the members opened no connection');
  for (const w of workers) assert.deepEqual(await peers(w), [], `${w.name} dialled no one`);

  const served = new Set<string>();
  for (let i = 0; i < 8; i++)
    served.add(await caller.request<string>('lbCall', 'Test', 'whoami', []));
  assert.deepEqual([...served].sort(), names);
  assert.deepEqual(await peers(caller), names);
  for (const w of workers)
    assert.deepEqual(await peers(w), [caller.name], 'workers connect to no other worker');

  // A crash: the caller's socket to it closes, and it is dropped at once, lease or not.
  const [w1, w2] = workers as [Worker, Worker];
  const killedAt = performance.now();
  w1.kill('SIGKILL');
  await until(async () => !(await members(caller)).includes(w1.name), 3_000, 'w1 dropped');
  const droppedMs = performance.now() - killedAt;
  t.diagnostic(
    `a SIGKILLed worker left the connected caller's members ${droppedMs.toFixed(0)} ms after the kill (${ttl})`,
  );
  for (let i = 0; i < 6; i++)
    assert.notEqual(await caller.request('lbCall', 'Test', 'whoami', []), w1.name);

  // A caller that never connected to it: while the lease lasts, w1 still counts; a dial to it is
  // refused, the call goes to another member, and w1 is left out from then on.
  const late = await spawn('odc2');
  await startLb(late);
  await until(
    async () => (await members(late)).length >= 3,
    10_000,
    'the late caller sees the workers',
  );
  const sawStale = (await members(late)).includes(w1.name);
  for (let i = 0; i < 8; i++)
    assert.notEqual(await late.request('lbCall', 'Test', 'whoami', []), w1.name);
  assert.ok(!(await members(late)).includes(w1.name), 'w1 left out of the late caller');
  t.diagnostic(
    `the late caller ${sawStale ? 'saw the stale entry, and its dial was refused' : 'found the lease already expired'}`,
  );

  // A freeze: the connected caller drops w2 at the heartbeat timeout, and counts it again after
  // SIGCONT (its connection comes back, or its re-registered entry is trusted again).
  const frozenAt = performance.now();
  w2.kill('SIGSTOP');
  await until(async () => !(await members(caller)).includes(w2.name), TIMEOUT_MS * 3, 'w2 dropped');
  const frozenMs = performance.now() - frozenAt;
  for (let i = 0; i < 4; i++)
    assert.notEqual(await caller.request('lbCall', 'Test', 'whoami', []), w2.name);
  w2.kill('SIGCONT');
  const thawedAt = performance.now();
  await until(async () => (await members(caller)).includes(w2.name), 15_000, 'w2 back');
  t.diagnostic(
    `a frozen worker was dropped ${frozenMs.toFixed(0)} ms after SIGSTOP (heartbeatTimeoutMs ${TIMEOUT_MS}); back ${(performance.now() - thawedAt).toFixed(0)} ms after SIGCONT`,
  );
  assert.ok(frozenMs < TIMEOUT_MS * 2 + 500, `${frozenMs} ms`);
}
