/**
 * etcd discovery against a real etcd (Debian's etcd-server, started here on 127.0.0.1): a join
 * is seen through the watch (latency printed), a SIGKILLed node's entry goes when its lease
 * expires, an etcd frozen or killed leaves the cluster working, nodes register again (with their
 * groups) with an etcd restarted without its data, and a change of a node's groups is seen
 * through the watch, the latest of a burst winning. Without /usr/bin/etcd the tests are skipped
 * with one line.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { etcdDiscovery, leaseTtlSeconds } from '../../src/discovery/etcd.js';
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
import { EtcdServer } from '../helpers/servers.js';

const TIMEOUT_MS = 1_500;
/** What etcd grants for it: 2 s (its minimum with the default election timeout is 1.5 s). */
const TTL_S = leaseTtlSeconds(TIMEOUT_MS);

function backendFor(etcd: EtcdServer, prefix: string): BackendUnderTest {
  return {
    label: 'etcd',
    server: etcd,
    timeoutMs: TIMEOUT_MS,
    // Frozen for longer than a lease: every lease expires when it thaws.
    freezeMs: TTL_S * 1_000 * 2 + 500,
    make: () => etcdDiscovery({ hosts: etcd.url, prefix }),
    workerOption: () => ({ kind: 'etcd', hosts: etcd.url, prefix }),
  };
}

describe('etcd discovery', { timeout: 90_000 }, () => {
  test('a join is seen through the watch; a graceful stop removes the entry at once', async (t) => {
    const why = EtcdServer.unavailable();
    if (why) return t.skip(why);
    const etcd = await EtcdServer.start(t);
    const prefix = 'latency/';
    const backend = backendFor(etcd, prefix);
    const watch = await observer(backend.make(), TIMEOUT_MS, t);
    const client = new Etcd3({ hosts: etcd.url });
    t.after(() => client.close());
    const latencies: number[] = [];
    for (let i = 0; i < 7; i++) {
      const name = `n${i}@127.0.0.1`;
      const before = performance.now();
      await client
        .put(`${prefix}${name}`)
        .value(JSON.stringify({ name, address: `127.0.0.1:${2000 + i}` }));
      const seen = await watch.until((names) => names.includes(name), `${name} seen`);
      latencies.push(seen - before);
    }
    // Entries as an older version wrote them (no groups, no incarnation) are nodes all the same.
    assert.deepEqual(watch.node('n0@127.0.0.1'), {
      name: 'n0@127.0.0.1',
      address: '127.0.0.1:2000',
    });
    const shown = latencies.map((ms) => ms.toFixed(1)).join(', ');
    t.diagnostic(
      `join seen through the watch ${shown} ms after the put was issued (median ${median(latencies).toFixed(1)} ms)`,
    );
    // A poll every few seconds could not do this; a watch does it in milliseconds.
    assert.ok(Math.max(...latencies) < 1_000, shown);

    // A node's discovery, stopped, revokes its lease: its entry goes at once, not after the TTL.
    const own = backend.make();
    await own.start({ ...hostFor('leaver@127.0.0.1', TIMEOUT_MS), update() {} });
    await watch.until((names) => names.includes('leaver@127.0.0.1'), 'leaver registered');
    const stopped = performance.now();
    await own.stop();
    const gone = await watch.until((names) => !names.includes('leaver@127.0.0.1'), 'leaver gone');
    t.diagnostic(`a stopped node's entry went ${(gone - stopped).toFixed(1)} ms after stop()`);
    assert.ok(gone - stopped < TTL_S * 1_000, 'before its lease could have expired');
  });

  test('nodes mesh through etcd alone; a SIGKILLed node is dropped from etcd when its lease expires', async (t) => {
    const why = EtcdServer.unavailable();
    if (why) return t.skip(why);
    const etcd = await EtcdServer.start(t);
    const backend = backendFor(etcd, 'kill/');
    const watch = await observer(backend.make(), TIMEOUT_MS, t);
    const cluster = new Cluster(t);
    const workers = await spawnAll(cluster, backend, ['k1', 'k2', 'k3']);
    await meshed(workers);
    const [a, b, c] = workers as [Worker, Worker, Worker];
    assert.deepEqual(watch.last(), workers.map((w) => w.name).sort());

    const killed = performance.now();
    c.kill('SIGKILL');
    const gone = await watch.until((names) => !names.includes(c.name), 'the entry expires', 15_000);
    t.diagnostic(
      `SIGKILLed node's entry expired ${((gone - killed) / 1_000).toFixed(2)} s after the kill (lease TTL ${TTL_S} s)`,
    );
    // Keepalives go every TTL/3, so the entry lives at most TTL after the last one.
    assert.ok(gone - killed <= TTL_S * 1_000 + 1_500, `${gone - killed} ms`);
    assert.deepEqual(await a.request('peers'), [b.name]);
  });

  test('a frozen or killed etcd leaves the cluster working; nodes register again, with their groups, when it is back', async (t) => {
    const why = EtcdServer.unavailable();
    if (why) return t.skip(why);
    const etcd = await EtcdServer.start(t);
    await outageScenario(t, backendFor(etcd, 'outage/'));
  });

  test("a change of a node's groups is seen through the watch; the latest of a burst wins", async (t) => {
    const why = EtcdServer.unavailable();
    if (why) return t.skip(why);
    const etcd = await EtcdServer.start(t);
    const backend = backendFor(etcd, 'groups/');
    await groupsScenario(t, backend, backend.make());
  });
});
