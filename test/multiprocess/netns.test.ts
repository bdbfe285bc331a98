/**
 * Several hosts for real: each node in its own Linux network namespace (its own loopback, one
 * interface on a bridge, addresses in 127.77.0.0/24), listening on the wildcard address and
 * found by the address it advertises. A partition between the two halves is detected within
 * the heartbeat bound and heals by itself, group views converging. Needs root (and `ip`): the
 * test is skipped with one line saying why when it cannot create namespaces.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster, type Worker } from '../helpers/cluster.js';
import { settleViews } from '../helpers/membership.js';
import { NetnsLab } from '../helpers/netns.js';

const TIMEOUT_MS = 1_500;
/** The check interval, a tenth of the timeout: a silent peer is down by the timeout plus this (docs/explanation/membership.md). */
const CHECK_INTERVAL_MS = 150;
/**
 * Allowed on top of the bound (frames in flight, clock granularity), besides how late each
 * watcher's own timers ran (measured: on two shared cores a process can wait its turn).
 */
const SLACK_MS = 150;
const PORT = 4370;

test('nodes in separate network namespaces mesh by advertised address; a partition is detected and heals', {
  timeout: 90_000,
}, async (t) => {
  const why = NetnsLab.unavailable();
  if (why) {
    t.skip(`network namespaces: ${why}`);
    return;
  }
  const lab = NetnsLab.create(t, [2, 2], 'part');
  const cluster = new Cluster(t);
  const seed = `${lab.hosts[0]?.address}:${PORT}`;
  const workers: Worker[] = [];
  for (const [i, host] of lab.hosts.entries()) {
    const options = {
      name: `host${i + 1}@lab`,
      host: '0.0.0.0',
      port: PORT,
      // Both forms: "host" (the bound port) and "host:port".
      advertiseAddress: i % 2 === 0 ? host.address : `${host.address}:${PORT}`,
      seeds: i === 0 ? [] : [seed],
      heartbeatTimeoutMs: TIMEOUT_MS,
      handshakeTimeoutMs: 2_000,
    };
    const worker = await cluster.spawn(options, 15_000, host.exec);
    assert.equal(worker.address, `0.0.0.0:${PORT}`);
    assert.equal(worker.advertisedAddress, `${host.address}:${PORT}`);
    workers.push(worker);
  }
  const [a, b, c, d] = workers as [Worker, Worker, Worker, Worker];
  const names = (ws: Worker[]) => ws.map((w) => w.name).sort();
  for (const w of workers) await w.request('join', 'g');
  // Only host1 is a seed: the others find each other through its peer list, by the addresses
  // they advertise (a node advertising 127.0.0.1 would send them to their own loopback).
  const meshStarted = Date.now();
  await settleViews(workers, { g: names(workers) }, 20_000);
  t.diagnostic(`full mesh of 4 namespaces in ${Date.now() - meshStarted} ms after the last start`);

  await Promise.all(workers.map((w) => w.request('resetLateness')));
  const cutAt = Date.now();
  lab.partition();
  const crossings: [Worker, Worker][] = [];
  for (const x of [a, b]) for (const y of [c, d]) crossings.push([x, y], [y, x]);
  const downs = await Promise.all(
    crossings.map(([x, y]) =>
      x.waitForEvent(
        (e) => e.event === 'nodedown' && e.peer === y.name && e.at >= cutAt,
        10_000,
        `${x.name} sees ${y.name} down`,
      ),
    ),
  );
  const after = downs.map((e) => e.at - cutAt);
  const late = await Promise.all(crossings.map(([x]) => x.request<number>('lateness')));
  t.diagnostic(
    `partition detected ${Math.min(...after)}–${Math.max(...after)} ms after the cut ` +
      `(bound ${TIMEOUT_MS + CHECK_INTERVAL_MS} ms; timers up to ${Math.max(...late).toFixed(0)} ms late)`,
  );
  for (const [i, e] of downs.entries()) {
    assert.equal(e.reason, 'timeout');
    const lateMs = late[i] as number;
    assert.ok(
      (after[i] as number) <= TIMEOUT_MS + CHECK_INTERVAL_MS + SLACK_MS + lateMs,
      `${after[i]} ms (timers up to ${lateMs.toFixed(0)} ms late)`,
    );
  }
  await settleViews([a, b], { g: names([a, b]) }, 5_000);
  await settleViews([c, d], { g: names([c, d]) }, 5_000);

  const healedAt = Date.now();
  lab.heal();
  await settleViews(workers, { g: names(workers) }, 20_000);
  t.diagnostic(`healed: full mesh and group views again ${Date.now() - healedAt} ms after`);
  // Within each half nobody was ever declared down.
  for (const [x, y] of [
    [a, b],
    [b, a],
    [c, d],
    [d, c],
  ] as const) {
    assert.equal(x.events.filter((e) => e.event === 'nodedown' && e.peer === y.name).length, 0);
  }
});
