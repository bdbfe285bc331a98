/**
 * Cluster formation with real processes: any seed leads to a full mesh, two nodes dialling each
 * other at once end with one connection, and a restarted node is welcomed back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster, type Worker } from '../helpers/cluster.js';
import { nodeEvents, settle, settleViews, spawnSeeded } from '../helpers/membership.js';
import { claimPort } from '../helpers/ports.js';

const names = (workers: readonly Worker[]) => workers.map((w) => w.name).sort();

test('8 nodes seeded only with the first form a full mesh with identical group views', async (t) => {
  const cluster = new Cluster(t);
  const start = Date.now();
  const workers = await spawnSeeded(cluster, 8, {}, 'm');
  const allReady = Date.now();
  await settleViews(workers, {}, 15_000);

  // The mesh was complete at the last nodeup any node needed.
  let meshAt = 0;
  for (const w of workers) {
    for (const other of workers) {
      if (other === w) continue;
      const ups = nodeEvents(w, other.name, 'nodeup');
      assert.equal(ups.length, 1, `${w.name} saw ${ups.length} nodeup for ${other.name}`);
      meshAt = Math.max(meshAt, ups[0]?.at ?? 0);
    }
    assert.deepEqual(
      w.events.filter((e) => e.event === 'nodedown'),
      [],
      `${w.name} saw a node go down while the mesh formed`,
    );
  }
  t.diagnostic(
    `8-node full mesh ${meshAt - start} ms after the first spawn, ` +
      `${Math.max(0, meshAt - allReady)} ms after the last node was ready`,
  );

  const joinedAt = Date.now();
  await Promise.all(workers.map((w) => w.request('join', 'everyone')));
  await settleViews(workers, { everyone: names(workers) }, 10_000);
  t.diagnostic(`all 8 joins visible on all 8 nodes within ${Date.now() - joinedAt} ms`);
});

test('two nodes dialling each other at the same moment end with one connection (20 pairs)', async (t) => {
  const ROUNDS = 4;
  const PAIRS_PER_ROUND = 5;
  let races = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const cluster = new Cluster(t);
    const pairs = await Promise.all(
      Array.from({ length: PAIRS_PER_ROUND }, async (_, i) => {
        const id = `${round}${i}`;
        return Promise.all([
          cluster.spawn({ name: `d${id}a@127.0.0.1` }),
          cluster.spawn({ name: `d${id}b@127.0.0.1` }),
        ]);
      }),
    );
    // Every node of the round dials its partner at the same wall-clock millisecond.
    const at = Date.now() + 200;
    const dialled = await Promise.all(
      pairs.map(([a, b]) =>
        Promise.all([
          a.request<string>('connectAt', b.address, at),
          b.request<string>('connectAt', a.address, at),
        ]),
      ),
    );
    for (const [i, [a, b]] of pairs.entries()) {
      assert.deepEqual(dialled[i], [b.name, a.name], 'both connect() resolve with the peer name');
    }
    await Promise.all(
      pairs.map(([a, b]) =>
        settle(
          async () => {
            const [sa, sb] = await Promise.all([
              a.request<Stats>('sockets'),
              b.request<Stats>('sockets'),
            ]);
            return sa.open === 1 && sb.open === 1
              ? true
              : `${a.name} holds ${sa.open} sockets, ${b.name} holds ${sb.open}`;
          },
          5_000,
          'one socket each side',
        ),
      ),
    );
    for (const [a, b] of pairs) {
      const [sa, sb] = await Promise.all([
        a.request<Stats>('sockets'),
        b.request<Stats>('sockets'),
      ]);
      // Four sockets opened in all means both dials reached the other node: a real race.
      if (sa.opened + sb.opened === 4) races++;
      else assert.equal(sa.opened + sb.opened, 2, 'without a race, one socket per side');
      for (const [self, other] of [
        [a, b],
        [b, a],
      ] as const) {
        assert.deepEqual(await self.request('peers'), [other.name]);
        assert.equal(nodeEvents(self, other.name, 'nodeup').length, 1, `${self.name}: one nodeup`);
        assert.equal(
          nodeEvents(self, other.name, 'nodedown').length,
          0,
          `${self.name}: no nodedown`,
        );
      }
      assert.equal(await a.request('call', b.name, 'Test', 'whoami', []), b.name);
      assert.equal(await b.request('call', a.name, 'Test', 'whoami', []), a.name);
    }
    cluster.cleanup();
  }
  t.diagnostic(`${races} of ${ROUNDS * PAIRS_PER_ROUND} pairs had both dials in flight at once`);
  // Without races the test would only show that connect() works; require that it raced.
  assert.ok(
    races >= ROUNDS,
    `only ${races} real races: the test did not exercise the duplicate path`,
  );
});

test('a restarted node with the same name and a new port is back in every view and serves calls', async (t) => {
  const cluster = new Cluster(t);
  const workers = await spawnSeeded(cluster, 4, {}, 'r');
  await Promise.all(workers.map((w) => w.request('join', 'g')));
  await settleViews(workers, { g: names(workers) }, 10_000);

  const [seed, , victim] = workers as [Worker, Worker, Worker];
  const survivors = workers.filter((w) => w !== victim);
  victim.kill('SIGKILL');
  await settleViews(survivors, { g: names(survivors) }, 5_000);

  // A claimed port: port 0 would hand it the victim's own one again, one time in 7 000.
  const reborn = await cluster.spawn({
    name: victim.name,
    seeds: [seed.address],
    port: await claimPort(),
  });
  assert.notEqual(reborn.address, victim.address, 'the restarted node listens on a new port');
  const all = [...survivors, reborn];
  // A new process starts with no memberships: it is in every view but in no group yet.
  await settleViews(all, { g: names(survivors) }, 10_000);
  await reborn.request('join', 'g');
  await settleViews(all, { g: names(all) }, 5_000);
  for (const w of survivors) {
    assert.equal(await w.request('call', victim.name, 'Test', 'whoami', []), victim.name);
    assert.equal(await reborn.request('call', w.name, 'Test', 'whoami', []), w.name);
    // One nodeup for the first life, one for the second, and the death in between.
    assert.equal(nodeEvents(w, victim.name, 'nodeup').length, 2);
    assert.deepEqual(
      nodeEvents(w, victim.name, 'nodedown').map((e) => e.reason),
      ['closed'],
    );
  }
});

test('seeds are re-dialled: a seed restarted on its address is rejoined by every node', async (t) => {
  const cluster = new Cluster(t);
  // A claimed port, not port 0: while the seed is dead, no other process can be handed it.
  const port = await claimPort();
  const seed = await cluster.spawn({ name: 'q00@127.0.0.1', port });
  const others = await Promise.all(
    ['q01', 'q02', 'q03'].map((id) =>
      cluster.spawn({ name: `${id}@127.0.0.1`, seeds: [seed.address] }),
    ),
  );
  await settleViews([seed, ...others], {}, 10_000);
  seed.kill('SIGKILL');
  await settleViews(others, {}, 5_000);

  const reborn = await cluster.spawn({ name: seed.name, port });
  assert.equal(reborn.address, seed.address);
  // The restarted seed has no seeds of its own: only the others' re-dialling can bring it back.
  const startedAt = Date.now();
  await settleViews([reborn, ...others], {}, 10_000);
  t.diagnostic(`seed rejoined by all ${Date.now() - startedAt} ms after it listened again`);
});

test('a node restarted while its old process is frozen is welcomed by every node once they dropped the old one', async (t) => {
  const cluster = new Cluster(t);
  const options = { heartbeatTimeoutMs: 1_500 };
  const workers = await spawnSeeded(cluster, 6, options, 'z');
  await settleViews(workers, {}, 10_000);
  const [seed, frozen] = workers as [Worker, Worker];
  const others = workers.filter((w) => w !== frozen);

  frozen.kill('SIGSTOP');
  const reborn = await cluster.spawn({ ...options, name: frozen.name });
  // Dial the seed until it lets the new process in, i.e. right after the seed dropped the
  // frozen one: the other nodes, whose heartbeats tick at other moments, may still hold it
  // and refuse the new process's first dial as a name in use.
  const startedAt = Date.now();
  await settle(
    () =>
      reborn.request('connect', seed.address).then(
        () => true as const,
        (err: Error) => err.message,
      ),
    10_000,
    'the seed to accept the restarted node',
  );
  await settleViews([...others, reborn], {}, 15_000);
  t.diagnostic(
    `full mesh again ${Date.now() - startedAt} ms after the seed let the new process in`,
  );
  frozen.kill('SIGKILL');
});

interface Stats {
  opened: number;
  open: number;
}
