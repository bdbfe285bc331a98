/**
 * The idle close under fire: a caller and three workers, all reaping after 30 ms, call each
 * other (through balancers and directly, both ways) at the moments the sweeps decide to close
 * (the sweeps tick on the wall clock's multiples of their period, and so do these calls). A
 * call that crosses an idle goodbye on the wire is refused by the closer without running
 * (counted on the serve tracing channel) and sent again by its caller over a new connection:
 * every call succeeds and runs exactly once, and groups never change.
 */
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { algorithms, type GroupEvent, RpcError, type RpcNode, startNode } from '../../src/index.js';
import { TRACING_CHANNELS } from '../../src/tracing.js';
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

  // The closers' refusals of calls that crossed their goodbye (each was then sent again).
  let refused = 0;
  const serve = diagnosticsChannel.tracingChannel(TRACING_CHANNELS.serve);
  const onError = ({ error }: { error?: unknown }) => {
    if (error instanceof RpcError && error.details.reason === 'connection_idle') {
      assert.equal(error.notExecuted, true);
      refused++;
    }
  };
  serve.error.subscribe(onError as (message: unknown) => void);
  t.after(() => serve.error.unsubscribe(onError as (message: unknown) => void));
  const direct = async (from: RpcNode, to: string, module: string, id: string) =>
    assert.equal(await from.call(to, module, 'run', [id], { timeout: 5_000 }), id);
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

  assert.equal(runs.size, 5 * ROUNDS, 'every call ran');
  for (const [id, count] of runs) assert.equal(count, 1, `${id} ran ${count} times`);
  assert.deepEqual(changes, [], 'no group changed');
  assert.ok(idleCloses >= 20, `connections were closed for idleness (${idleCloses})`);
  const failed = [lb, back].flatMap((b) => b.inspect().members).reduce((n, m) => n + m.errors, 0);
  assert.equal(failed, 0, 'no balanced attempt failed: refused calls were sent again');
  t.diagnostic(
    `${idleCloses} idle closes; ${refused} calls crossed a goodbye, refused, sent again`,
  );
  await Promise.all([lb.stop(), back.stop()]);
});
