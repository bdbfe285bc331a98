/**
 * The idle close under fire: a caller and three workers, all reaping after 30 ms, call each
 * other (through a balancer and directly, both ways) at the moments the sweeps decide to close
 * (the sweeps tick on the wall clock's multiples of their period, and so do these calls). Every
 * call either runs once and succeeds, or (a direct call that crossed an idle goodbye on the
 * wire) fails as not executed with `connection_idle` without having run; every balanced call
 * succeeds (the balancer retries refusals); no call runs twice; groups never change.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { algorithms, type GroupEvent, RpcError, type RpcNode, startNode } from '../../src/index.js';
import { waitFor } from '../helpers/cluster.js';
import { MemoryRegistry } from '../helpers/memory-discovery.js';
import { seededRandom } from '../helpers/random.js';

const IDLE_MS = 30;
/** The sweep period for 30 ms (a quarter, at least 10 ms): the sweeps fire on its multiples. */
const SWEEP_MS = 10;
const ROUNDS = 80;

const nodes = new Set<RpcNode>();
after(() => Promise.all([...nodes].map((n) => n.destroy())));

async function start(name: string, registry: MemoryRegistry): Promise<RpcNode> {
  const node = await startNode({
    cookie: 'idle-race',
    logLevel: 'silent',
    name,
    connections: { mode: 'on-demand', idleTimeoutMs: IDLE_MS },
    discovery: () => registry.discovery(),
  });
  nodes.add(node);
  return node;
}

/** Waits past the idle timeout, then until just before or after a multiple of the sweep period. */
async function nearASweep(random: () => number): Promise<void> {
  await sleep(IDLE_MS + random() * 20);
  const toMultiple = SWEEP_MS - (Date.now() % SWEEP_MS);
  await sleep(Math.max(0, toMultiple - 1 + random() * 2));
}

test('calls crossing idle closes either way: none is lost, none runs twice', {
  timeout: 90_000,
}, async (t) => {
  const registry = new MemoryRegistry();
  const runs = new Map<string, number>();
  // Asynchronous: a call run after the close was decided would lose its reply with the socket.
  const run = async (id: string) => {
    runs.set(id, (runs.get(id) ?? 0) + 1);
    await sleep(2);
    return id;
  };
  const workers = await Promise.all(
    ['ir-w1', 'ir-w2', 'ir-w3'].map((n) => start(`${n}@127.0.0.1`, registry)),
  );
  const caller = await start('ir-c@127.0.0.1', registry);
  for (const w of workers) {
    w.expose('Work', { run });
    w.groups.join('work');
  }
  caller.expose('Back', { run });
  caller.groups.join('callers');
  await waitFor(() => caller.groups.members('work').length === 3, 5_000, 'the workers');
  for (const w of workers) {
    await waitFor(() => w.groups.members('callers').length === 1, 5_000, 'the caller');
  }
  const changes: GroupEvent[] = [];
  caller.groups.monitor('work', (e) => changes.push(e));
  for (const w of workers) w.groups.monitor('callers', (e) => changes.push(e));
  let idleCloses = 0;
  for (const n of [caller, ...workers]) {
    n.on('nodedown', (_peer, reason) => {
      if (reason === 'idle') idleCloses++;
    });
  }
  const lb = await caller.startLoadBalancer({
    name: 'work',
    selectionAlgorithm: algorithms.RoundRobin,
    nodeMatchList: ['ir-w'],
  });

  const refused: string[] = [];
  /** A direct call: runs once and succeeds, or is refused as not executed and did not run. */
  const direct = async (from: RpcNode, to: string, module: string, id: string) => {
    try {
      assert.equal(await from.call(to, module, 'run', [id], { timeout: 5_000 }), id);
    } catch (err) {
      assert.ok(err instanceof RpcError, String(err));
      assert.equal(err.details.reason, 'connection_idle', err.message);
      assert.equal(err.notExecuted, true);
      refused.push(id);
    }
  };
  const lane = async (seed: number, call: (id: string) => Promise<void>) => {
    const random = seededRandom(seed);
    for (let i = 0; i < ROUNDS; i++) {
      await nearASweep(random);
      await call(`${seed}:${i}`);
    }
  };
  const w1 = workers[0] as RpcNode;
  const w2 = workers[1] as RpcNode;
  // A balancer with one member: a refused call is retried on that member, over a new connection.
  const back = await (workers[2] as RpcNode).startLoadBalancer({
    name: 'callers',
    selectionAlgorithm: algorithms.RoundRobin,
    nodeMatchList: ['ir-c'],
  });
  await Promise.all([
    lane(1, async (id) => assert.equal(await lb.call('Work', 'run', [id], { timeout: 5_000 }), id)),
    lane(5, async (id) =>
      assert.equal(await back.call('Back', 'run', [id], { timeout: 5_000 }), id),
    ),
    lane(2, (id) => direct(caller, w1.name, 'Work', id)),
    lane(3, (id) => direct(w2, caller.name, 'Back', id)),
    lane(4, (id) => direct(w1, caller.name, 'Back', id)),
  ]);

  assert.equal(runs.size + refused.length, 5 * ROUNDS, 'every call ran or was refused');
  for (const [id, count] of runs) assert.equal(count, 1, `${id} ran ${count} times`);
  for (const id of refused) assert.equal(runs.has(id), false, `${id} was refused yet ran`);
  assert.deepEqual(changes, [], 'no group changed');
  assert.ok(idleCloses >= 20, `connections were closed for idleness (${idleCloses})`);
  // Each balanced attempt that failed was a refusal the balancer then retried.
  const retried = [lb, back]
    .flatMap((b) => b.inspect().members)
    .reduce((sum, m) => sum + m.errors, 0);
  t.diagnostic(
    `${idleCloses} idle closes; ${refused.length} direct calls refused as not executed; ` +
      `${retried} balanced attempts refused and retried`,
  );
  await Promise.all([lb.stop(), back.stop()]);
});
