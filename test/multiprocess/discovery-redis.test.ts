/**
 * Redis discovery against a real Redis (Debian's redis-server, started here on 127.0.0.1 with
 * no persistence): a join is seen through the channel (latency printed), an expired key through
 * keyspace notifications or the reconciliation, a frozen or killed Redis leaves the cluster
 * working, and nodes register again with a Redis restarted empty. Without
 * /usr/bin/redis-server the tests are skipped with one line.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { redisDiscovery } from '../../src/discovery/redis.js';
import type { DiscoveredNode, DiscoveryHost } from '../../src/discovery/types.js';
import { Cluster, type Worker, waitFor } from '../helpers/cluster.js';
import { RedisServer } from '../helpers/servers.js';

const TIMEOUT_MS = 1_500;
const RECONCILE_MS = 500;
const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** A discovery in this process whose views are recorded with their times. */
async function observer(
  url: string,
  prefix: string,
  t: { after(fn: () => unknown): void },
  reconcileIntervalMs = RECONCILE_MS,
) {
  const views: { at: number; names: string[] }[] = [];
  const host: DiscoveryHost = {
    name: 'observer@127.0.0.1',
    address: '127.0.0.1:1',
    heartbeatTimeoutMs: TIMEOUT_MS,
    incarnation: 'i1',
    groups: () => ({}),
    logger: quietLogger,
    update: (nodes: Iterable<DiscoveredNode>) =>
      views.push({
        at: performance.now(),
        names: [...nodes]
          .map((n) => n.name as string)
          .filter((n) => n !== host.name)
          .sort(),
      }),
  };
  const discovery = redisDiscovery({ url, prefix, reconcileIntervalMs });
  await discovery.start(host);
  t.after(() => discovery.stop());
  const last = () => views.at(-1)?.names ?? [];
  const until = (check: (names: string[]) => boolean, what: string, ms = 10_000) =>
    waitFor(() => (check(last()) ? (views.at(-1)?.at ?? 0) : undefined), ms, what);
  return { views, last, until };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

describe('Redis discovery', { timeout: 90_000 }, () => {
  test('a join is seen through the channel, an expiry through keyspace notifications, a stop at once', async (t) => {
    const why = RedisServer.unavailable();
    if (why) return t.skip(why);
    const redis = await RedisServer.start(t, ['--notify-keyspace-events', 'Ex']);
    const prefix = 'latency:';
    // Reconciliation far away: whatever is seen below comes through messages.
    const watch = await observer(redis.url, prefix, t, 60_000);
    const client = new Redis(redis.url);
    client.on('error', () => {}); // the server is stopped before this client at the end
    t.after(() => client.disconnect());
    const latencies: number[] = [];
    for (let i = 0; i < 7; i++) {
      const name = `n${i}@127.0.0.1`;
      const address = `127.0.0.1:${2000 + i}`;
      const before = performance.now();
      await client.set(`${prefix}${name}`, JSON.stringify({ name, address }), 'PX', 60_000);
      await client.publish(`${prefix}events`, JSON.stringify({ type: 'join', name, address }));
      const seen = await watch.until((names) => names.includes(name), `${name} seen`);
      latencies.push(seen - before);
    }
    const shown = latencies.map((ms) => ms.toFixed(1)).join(', ');
    t.diagnostic(
      `join seen through the channel ${shown} ms after the SET was issued (median ${median(latencies).toFixed(1)} ms)`,
    );
    assert.ok(Math.max(...latencies) < 1_000, shown);

    // A key left to expire (a crashed node) is reported by the server's notification.
    const name = 'crashed@127.0.0.1';
    await client.set(
      `${prefix}${name}`,
      JSON.stringify({ name, address: '127.0.0.1:3000' }),
      'PX',
      300,
    );
    await client.publish(
      `${prefix}events`,
      JSON.stringify({ type: 'join', name, address: '127.0.0.1:3000' }),
    );
    const joined = await watch.until((names) => names.includes(name), 'crashed joined');
    const gone = await watch.until((names) => !names.includes(name), 'crashed expired', 5_000);
    t.diagnostic(
      `a key with a 300 ms TTL was reported gone ${(gone - joined).toFixed(0)} ms after it was seen`,
    );

    // A stopped discovery deletes its key and says so: gone at once.
    const own = redisDiscovery({ url: redis.url, prefix, reconcileIntervalMs: 60_000 });
    await own.start({ ...hostFor('leaver@127.0.0.1'), update() {} });
    await watch.until((names) => names.includes('leaver@127.0.0.1'), 'leaver registered');
    const stopped = performance.now();
    await own.stop();
    const left = await watch.until((names) => !names.includes('leaver@127.0.0.1'), 'leaver gone');
    t.diagnostic(`a stopped node's entry went ${(left - stopped).toFixed(1)} ms after stop()`);
  });

  test('nodes mesh through Redis alone; a SIGKILLed node is dropped when its key expires', async (t) => {
    const why = RedisServer.unavailable();
    if (why) return t.skip(why);
    // No keyspace notifications: the reconciliation finds the expiry.
    const redis = await RedisServer.start(t);
    const prefix = 'kill:';
    const watch = await observer(redis.url, prefix, t);
    const cluster = new Cluster(t);
    const workers = await spawnAll(cluster, redis.url, prefix, ['k1', 'k2', 'k3']);
    await meshed(workers);
    const [a, b, c] = workers as [Worker, Worker, Worker];
    await watch.until((names) => names.length === 3, 'all three registered');

    const killed = performance.now();
    c.kill('SIGKILL');
    const gone = await watch.until((names) => !names.includes(c.name), 'the key expires', 10_000);
    t.diagnostic(
      `SIGKILLed node's key was gone ${((gone - killed) / 1_000).toFixed(2)} s after the kill (TTL ${TIMEOUT_MS} ms, reconciliation every ${RECONCILE_MS} ms)`,
    );
    assert.ok(gone - killed <= TIMEOUT_MS + RECONCILE_MS + 1_000, `${gone - killed} ms`);
    assert.deepEqual(await a.request('peers'), [b.name]);
  });

  test('a frozen or killed Redis leaves the cluster working; nodes register again when it is back', async (t) => {
    const why = RedisServer.unavailable();
    if (why) return t.skip(why);
    const redis = await RedisServer.start(t);
    const prefix = 'outage:';
    const cluster = new Cluster(t);
    const workers = await spawnAll(cluster, redis.url, prefix, ['o1', 'o2', 'o3']);
    await meshed(workers);
    const [a, b, c] = workers as [Worker, Worker, Worker];
    const callsFlow = async () => {
      for (const [from, to] of [
        [a, b],
        [b, c],
        [c, a],
      ] as const)
        assert.equal(
          await from.request('call', to.name, 'Test', 'whoami', [], { timeout: 2_000 }),
          to.name,
        );
    };

    redis.signal('SIGSTOP');
    await sleep(TIMEOUT_MS * 2 + 500);
    await callsFlow();
    redis.signal('SIGCONT');
    await sleep(500);
    await callsFlow();

    await redis.kill();
    await sleep(TIMEOUT_MS);
    await callsFlow();
    const restarted = performance.now();
    await redis.run(true);
    const watch = await observer(redis.url, prefix, t);
    const names = workers.map((w) => w.name).sort();
    const back = await watch.until(
      (seen) => names.every((n) => seen.includes(n)),
      'all registered again',
      15_000,
    );
    t.diagnostic(
      `all 3 nodes registered again ${((back - restarted) / 1_000).toFixed(2)} s after Redis was restarted empty`,
    );
    const [d] = await spawnAll(cluster, redis.url, prefix, ['o4']);
    await meshed([...workers, d as Worker]);
    await callsFlow();
    for (const w of workers)
      assert.equal(
        w.events.filter((e) => e.event === 'nodedown').length,
        0,
        `${w.name} saw no nodedown`,
      );
  });
});

function hostFor(name: string): Omit<DiscoveryHost, 'update'> {
  return {
    name,
    address: '127.0.0.1:2',
    heartbeatTimeoutMs: TIMEOUT_MS,
    logger: quietLogger,
    incarnation: 'i1',
    groups: () => ({}),
  };
}

function spawnAll(cluster: Cluster, url: string, prefix: string, ids: string[]): Promise<Worker[]> {
  return Promise.all(
    ids.map((id) =>
      cluster.spawn({
        name: `${id}@127.0.0.1`,
        heartbeatTimeoutMs: TIMEOUT_MS,
        discovery: { kind: 'redis', url, prefix, reconcileIntervalMs: RECONCILE_MS },
      }),
    ),
  );
}

async function meshed(workers: Worker[]): Promise<void> {
  const names = workers.map((w) => w.name);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const views = await Promise.all(workers.map((w) => w.request<string[]>('peers')));
    if (views.every((peers, i) => names.every((n, j) => i === j || peers.includes(n)))) return;
    await sleep(50);
  }
  assert.fail(`no full mesh of ${names.join(', ')} within 15 s`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
