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
import {
  type BackendUnderTest,
  gracefulLeave,
  groupsScenario,
  killedEntry,
  legacyJoins,
  median,
  observer,
  outageScenario,
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
    const latencies = await legacyJoins(watch, async (name, address) => {
      await client.set(`${prefix}${name}`, JSON.stringify({ name, address }), 'PX', 60_000);
      await client.publish(`${prefix}events`, JSON.stringify({ type: 'join', name, address }));
    });
    t.diagnostic(
      `join seen through the channel ${latencies.map((ms) => ms.toFixed(1)).join(', ')} ms after the SET was issued (median ${median(latencies).toFixed(1)} ms)`,
    );

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
    const leftMs = await gracefulLeave(watch, messagesOnly(redis, prefix), TIMEOUT_MS);
    t.diagnostic(`a stopped node's entry went ${leftMs.toFixed(1)} ms after stop()`);
  });

  test('nodes mesh through Redis alone; a SIGKILLed node is dropped when its key expires', async (t) => {
    const why = RedisServer.unavailable();
    if (why) return t.skip(why);
    // No keyspace notifications: the reconciliation finds the expiry.
    const redis = await RedisServer.start(t);
    const backend = backendFor(redis, 'kill:');
    const watch = await observer(backend.make(), TIMEOUT_MS, t);
    const goneMs = await killedEntry(t, backend, watch, 10_000);
    t.diagnostic(
      `SIGKILLed node's key was gone ${(goneMs / 1_000).toFixed(2)} s after the kill (TTL ${TIMEOUT_MS} ms, reconciliation every ${RECONCILE_MS} ms)`,
    );
    assert.ok(goneMs <= TIMEOUT_MS + RECONCILE_MS + 1_000, `${goneMs} ms`);
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
