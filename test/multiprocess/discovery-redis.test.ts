/**
 * Redis discovery against a real Redis (Debian's redis-server, started here on 127.0.0.1 with
 * no persistence): a join is seen through the channel (latency printed), an expired key through
 * keyspace notifications or the reconciliation, a frozen or killed Redis leaves the cluster
 * working, nodes register again (with their groups) with a Redis restarted empty, and a change
 * of a node's groups is seen through the channel, the latest of a burst winning. Without
 * /usr/bin/redis-server the tests are skipped with one line.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { redisDiscovery } from '../../src/discovery/redis.js';
import { Cluster, type Worker } from '../helpers/cluster.js';
import {
  type BackendUnderTest,
  groupsScenario,
  hostFor,
  median,
  meshed,
  observer,
  outageScenario,
  spawnAll,
} from '../helpers/discovery.js';
import { RedisServer } from '../helpers/servers.js';

const TIMEOUT_MS = 1_500;
const RECONCILE_MS = 500;

function backendFor(redis: RedisServer, prefix: string): BackendUnderTest {
  return {
    label: 'Redis',
    server: redis,
    timeoutMs: TIMEOUT_MS,
    freezeMs: TIMEOUT_MS * 2 + 500,
    make: () => redisDiscovery({ url: redis.url, prefix, reconcileIntervalMs: RECONCILE_MS }),
    workerOption: () => ({
      kind: 'redis',
      url: redis.url,
      prefix,
      reconcileIntervalMs: RECONCILE_MS,
    }),
  };
}

/** A discovery that learns through messages alone: its reconciliation is a minute away. */
const messagesOnly = (redis: RedisServer, prefix: string) =>
  redisDiscovery({ url: redis.url, prefix, reconcileIntervalMs: 60_000 });

describe('Redis discovery', { timeout: 90_000 }, () => {
  test('a join is seen through the channel, an expiry through keyspace notifications, a stop at once', async (t) => {
    const why = RedisServer.unavailable();
    if (why) return t.skip(why);
    const redis = await RedisServer.start(t, ['--notify-keyspace-events', 'Ex']);
    const prefix = 'latency:';
    // Reconciliation far away: whatever is seen below comes through messages.
    const watch = await observer(messagesOnly(redis, prefix), TIMEOUT_MS, t);
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
    // Entries and joins as an older version wrote them (no groups, no incarnation) are nodes.
    assert.deepEqual(watch.node('n0@127.0.0.1'), {
      name: 'n0@127.0.0.1',
      address: '127.0.0.1:2000',
    });
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
    const own = messagesOnly(redis, prefix);
    await own.start({ ...hostFor('leaver@127.0.0.1', TIMEOUT_MS), update() {} });
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
    const backend = backendFor(redis, 'kill:');
    const watch = await observer(backend.make(), TIMEOUT_MS, t);
    const cluster = new Cluster(t);
    const workers = await spawnAll(cluster, backend, ['k1', 'k2', 'k3']);
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

  test('a frozen or killed Redis leaves the cluster working; nodes register again, with their groups, when it is back', async (t) => {
    const why = RedisServer.unavailable();
    if (why) return t.skip(why);
    const redis = await RedisServer.start(t);
    await outageScenario(t, backendFor(redis, 'outage:'));
  });

  test("a change of a node's groups is seen through the channel; the latest of a burst wins", async (t) => {
    const why = RedisServer.unavailable();
    if (why) return t.skip(why);
    const redis = await RedisServer.start(t);
    await groupsScenario(t, backendFor(redis, 'groups:'), messagesOnly(redis, 'groups:'));
  });
});
