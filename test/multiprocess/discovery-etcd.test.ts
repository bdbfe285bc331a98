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
import {
  type BackendUnderTest,
  gracefulLeave,
  groupsScenario,
  hostFor,
  killedEntry,
  legacyJoins,
  median,
  observer,
  outageScenario,
  quietLogger,
  sleep,
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
    const latencies = await legacyJoins(watch, async (name, address) => {
      await client.put(`${prefix}${name}`).value(JSON.stringify({ name, address }));
    });
    t.diagnostic(
      `join seen through the watch ${latencies.map((ms) => ms.toFixed(1)).join(', ')} ms after the put was issued (median ${median(latencies).toFixed(1)} ms)`,
    );

    // A node's discovery, stopped, revokes its lease: its entry goes at once, not after the TTL.
    const leftMs = await gracefulLeave(watch, backend.make(), TIMEOUT_MS);
    t.diagnostic(`a stopped node's entry went ${leftMs.toFixed(1)} ms after stop()`);
    assert.ok(leftMs < TTL_S * 1_000, 'before its lease could have expired');
  });

  test('nodes mesh through etcd alone; a SIGKILLed node is dropped from etcd when its lease expires', async (t) => {
    const why = EtcdServer.unavailable();
    if (why) return t.skip(why);
    const etcd = await EtcdServer.start(t);
    const backend = backendFor(etcd, 'kill/');
    const watch = await observer(backend.make(), TIMEOUT_MS, t);
    const goneMs = await killedEntry(t, backend, watch, 15_000);
    t.diagnostic(
      `SIGKILLed node's entry expired ${(goneMs / 1_000).toFixed(2)} s after the kill (lease TTL ${TTL_S} s)`,
    );
    // Keepalives go every TTL/3, so the entry lives at most TTL after the last one.
    assert.ok(goneMs <= TTL_S * 1_000 + 1_500, `${goneMs} ms`);
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

  test("a node's entry deleted or overwritten by another writer is put again; another live registration of its name is left alone", async (t) => {
    const why = EtcdServer.unavailable();
    if (why) return t.skip(why);
    const etcd = await EtcdServer.start(t);
    const client = new Etcd3({ hosts: etcd.url });
    t.after(() => client.close());
    const name = 'guarded@127.0.0.1';
    const key = `own/${name}`;
    const warnings: string[] = [];
    const discovery = etcdDiscovery({ hosts: etcd.url, prefix: 'own/' });
    await discovery.start({
      ...hostFor(name, TIMEOUT_MS),
      logger: { ...quietLogger, warn: (line: string) => warnings.push(line) },
      update: () => {},
    });
    t.after(() => discovery.stop());
    const own = await client.get(key).string();
    assert.ok(own?.includes(`"incarnation":"${name}-run"`), `registered: ${own}`);
    /** Resolves when etcd holds `value` at the key, with the time it took. */
    const holds = async (value: string | null, what: string) => {
      const started = performance.now();
      while ((await client.get(key).string()) !== value) {
        if (performance.now() - started > 5_000) assert.fail(`timed out waiting for ${what}`);
        await sleep(20);
      }
      return performance.now() - started;
    };

    await client.delete().key(key);
    const afterDelete = await holds(own, 'the entry put again after a delete');
    await client.put(key).value('not an entry');
    const afterGarbage = await holds(own, 'the entry put again over a malformed one');
    const stranger = JSON.stringify({ name, address: '127.0.0.1:9', incarnation: 'other' });
    await client.put(key).value(stranger); // no lease: nobody keeps it alive
    const afterStranger = await holds(own, 'the entry put again over a lease-less one');
    t.diagnostic(
      `own entry put again ${afterDelete.toFixed(0)} ms after a delete, ${afterGarbage.toFixed(0)} ms after garbage, ${afterStranger.toFixed(0)} ms after a lease-less entry`,
    );
    assert.equal(
      warnings.filter((w) => w.includes('putting it again')).length,
      3,
      warnings.join('\n'),
    );

    // A second live process with the same name: left alone while its lease lives, then replaced.
    const rivalLease = client.lease(TTL_S);
    const rival = JSON.stringify({ name, address: '127.0.0.1:9', incarnation: 'rival' });
    await rivalLease.put(key).value(rival);
    await sleep(1_000);
    assert.equal(await client.get(key).string(), rival, 'not fought over');
    assert.ok(
      warnings.some((w) => w.includes(`another node registers as ${name} (at 127.0.0.1:9)`)),
      warnings.join('\n'),
    );
    await rivalLease.revoke();
    await holds(own, "the entry put again when the rival's lease went");
  });
});
