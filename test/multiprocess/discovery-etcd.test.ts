/**
 * etcd discovery against a real etcd (Debian's etcd-server, started here on 127.0.0.1): a join
 * is seen through the watch (latency printed), a SIGKILLed node's entry goes when its lease
 * expires, an etcd frozen or killed leaves the cluster working, and nodes register again with
 * an etcd restarted without its data. Without /usr/bin/etcd the tests are skipped with one line.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { etcdDiscovery, leaseTtlSeconds } from '../../src/discovery/etcd.js';
import type { DiscoveredNode, DiscoveryHost } from '../../src/discovery/types.js';
import { Cluster, type Worker, waitFor } from '../helpers/cluster.js';
import { EtcdServer } from '../helpers/servers.js';

const TIMEOUT_MS = 1_500;
/** What etcd grants for it: 2 s (its minimum with the default election timeout is 1.5 s). */
const TTL_S = leaseTtlSeconds(TIMEOUT_MS);
const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** A watcher of the prefix in this process: the views it was given, with their times. */
async function observer(url: string, prefix: string, t: { after(fn: () => unknown): void }) {
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
        // Registered too (as every etcd discovery is), and left out as a node leaves itself out.
        names: [...nodes]
          .map((n) => n.name as string)
          .filter((n) => n !== host.name)
          .sort(),
      }),
  };
  const discovery = etcdDiscovery({ hosts: url, prefix });
  await discovery.start(host);
  t.after(() => discovery.stop());
  const last = () => views.at(-1)?.names ?? [];
  const until = (check: (names: string[]) => boolean, what: string, ms = 10_000) =>
    waitFor(() => (check(last()) ? (views.at(-1)?.at ?? 0) : undefined), ms, what);
  return { views, last, until };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

describe('etcd discovery', { timeout: 90_000 }, () => {
  test('a join is seen through the watch; a graceful stop removes the entry at once', async (t) => {
    const why = EtcdServer.unavailable();
    if (why) return t.skip(why);
    const etcd = await EtcdServer.start(t);
    const prefix = 'latency/';
    const watch = await observer(etcd.url, prefix, t);
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
    const shown = latencies.map((ms) => ms.toFixed(1)).join(', ');
    t.diagnostic(
      `join seen through the watch ${shown} ms after the put was issued (median ${median(latencies).toFixed(1)} ms)`,
    );
    // A poll every few seconds could not do this; a watch does it in milliseconds.
    assert.ok(Math.max(...latencies) < 1_000, shown);

    // A node's discovery, stopped, revokes its lease: its entry goes at once, not after the TTL.
    const own = etcdDiscovery({ hosts: etcd.url, prefix });
    await own.start({ ...hostFor('leaver@127.0.0.1'), update() {} });
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
    const prefix = 'kill/';
    const watch = await observer(etcd.url, prefix, t);
    const cluster = new Cluster(t);
    const workers = await spawnAll(cluster, etcd.url, prefix, ['k1', 'k2', 'k3']);
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

  test('a frozen or killed etcd leaves the cluster working; nodes register again when it is back', async (t) => {
    const why = EtcdServer.unavailable();
    if (why) return t.skip(why);
    const etcd = await EtcdServer.start(t);
    const prefix = 'outage/';
    const cluster = new Cluster(t);
    const workers = await spawnAll(cluster, etcd.url, prefix, ['o1', 'o2', 'o3']);
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

    // Frozen for longer than a lease: every lease expires when it thaws.
    etcd.signal('SIGSTOP');
    await sleep(TTL_S * 1_000 * 2 + 500);
    await callsFlow();
    etcd.signal('SIGCONT');
    await sleep(500);
    await callsFlow();

    // Killed, then started again without its data (as a disposable etcd would be).
    await etcd.kill();
    await sleep(TIMEOUT_MS);
    await callsFlow();
    const restarted = performance.now();
    await etcd.run(true);
    const watch = await observer(etcd.url, prefix, t);
    const names = workers.map((w) => w.name).sort();
    const back = await watch.until(
      (seen) => names.every((n) => seen.includes(n)),
      'all registered again',
      15_000,
    );
    t.diagnostic(
      `all 3 nodes registered again ${((back - restarted) / 1_000).toFixed(2)} s after etcd was restarted empty`,
    );
    // The watch works again: a node that starts now is found by the others through etcd.
    const [d] = await spawnAll(cluster, etcd.url, prefix, ['o4']);
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
        discovery: { kind: 'etcd', hosts: url, prefix },
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
