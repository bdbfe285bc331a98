/**
 * Scenarios shared by the tests of the registering discovery backends (etcd, Redis) against
 * their real servers: an in-process observer of the views a backend reports, worker clusters
 * meshed through it, an outage of the server (frozen, then killed and restarted empty) that
 * leaves the cluster working, and groups carried by the backend (a change seen by a watcher, a
 * burst of changes ending with the latest, the groups registered again after a restart).
 *
 * ```ts
 * const backend: BackendUnderTest = { server: etcd, make: () => etcdDiscovery({...}), ... };
 * await outageScenario(t, backend);
 * ```
 */
import assert from 'node:assert/strict';
import { holdMs } from '../../src/discovery/registry.js';
import type { DiscoveredNode, Discovery, DiscoveryHost } from '../../src/discovery/types.js';
import { Cluster, type Worker, waitFor } from './cluster.js';

export const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };

interface TestContextLike {
  after(fn: () => unknown): void;
  diagnostic(message: string): void;
}

/** A backend's server (started by test/helpers/servers.ts) and how to use it. */
export interface BackendUnderTest {
  /** For diagnostics: `'etcd'`, `'Redis'`. */
  readonly label: string;
  readonly server: {
    signal(signal: NodeJS.Signals): void;
    kill(): Promise<void>;
    run(fresh?: boolean): Promise<void>;
  };
  /** The heartbeat timeout of every node (and so the lease / key TTL). */
  readonly timeoutMs: number;
  /** How long a freeze must last for every registration to have expired when it thaws. */
  readonly freezeMs: number;
  /** A fresh discovery for one in-process node or observer (under the test's prefix). */
  make(): Discovery;
  /** The `discovery` option of a worker (crosses the process boundary as JSON). */
  workerOption(): Record<string, unknown>;
}

/** What an observer saw of one view. */
export interface ObservedView {
  readonly at: number;
  /** The names of the nodes reported, sorted, the observer left out. */
  readonly names: string[];
  readonly nodes: ReadonlyMap<string, DiscoveredNode>;
}

/** A host for an in-process discovery: `groups` is read at every call. */
export function hostFor(
  name: string,
  timeoutMs: number,
  groups: () => Record<string, number> = () => ({}),
): Omit<DiscoveryHost, 'update'> {
  return {
    name,
    address: '127.0.0.1:2',
    heartbeatTimeoutMs: timeoutMs,
    logger: quietLogger,
    incarnation: `${name}-run`,
    groups,
  };
}

/** A discovery in this process whose views are recorded with their times. */
export async function observer(discovery: Discovery, timeoutMs: number, t: TestContextLike) {
  const views: ObservedView[] = [];
  const name = 'observer@127.0.0.1';
  await discovery.start({
    ...hostFor(name, timeoutMs),
    address: '127.0.0.1:1',
    update: (reported: Iterable<DiscoveredNode>) => {
      // Registered too (as every registering discovery is), and left out as a node leaves itself out.
      const nodes = new Map([...reported].map((n) => [n.name as string, n]));
      nodes.delete(name);
      views.push({ at: performance.now(), names: [...nodes.keys()].sort(), nodes });
    },
  });
  t.after(() => discovery.stop());
  const last = () => views.at(-1)?.names ?? [];
  const node = (of: string) => views.at(-1)?.nodes.get(of);
  /** Resolves with the time of the first view (from now on) that passes `check`. */
  const until = (check: (names: string[]) => boolean, what: string, ms = 10_000) =>
    waitFor(() => (check(last()) ? (views.at(-1)?.at ?? 0) : undefined), ms, what);
  /** Resolves with the time of the first view in which `of` has exactly `groups`. */
  const untilGroups = (of: string, groups: Record<string, number>, ms = 10_000) =>
    waitFor(
      () => (sameGroups(node(of)?.groups, groups) ? (views.at(-1)?.at ?? 0) : undefined),
      ms,
      `${of} seen with groups ${JSON.stringify(groups)}`,
    );
  return { views, last, node, until, untilGroups };
}

function sameGroups(a: Readonly<Record<string, number>> | undefined, b: Record<string, number>) {
  if (a === undefined) return false;
  const keys = Object.keys(b);
  return Object.keys(a).length === keys.length && keys.every((k) => a[k] === b[k]);
}

export const median = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Starts one worker per id, all discovering each other through `backend` alone. */
export function spawnAll(
  cluster: Cluster,
  backend: BackendUnderTest,
  ids: string[],
): Promise<Worker[]> {
  return Promise.all(
    ids.map((id) =>
      cluster.spawn({
        name: `${id}@127.0.0.1`,
        heartbeatTimeoutMs: backend.timeoutMs,
        discovery: backend.workerOption(),
      }),
    ),
  );
}

/** Resolves once every worker is connected to every other one (15 s at most). */
export async function meshed(workers: Worker[]): Promise<void> {
  const names = workers.map((w) => w.name);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const views = await Promise.all(workers.map((w) => w.request<string[]>('peers')));
    if (views.every((peers, i) => names.every((n, j) => i === j || peers.includes(n)))) return;
    await sleep(50);
  }
  assert.fail(`no full mesh of ${names.join(', ')} within 15 s`);
}

/** What {@link observer} returns. */
export type Observer = Awaited<ReturnType<typeof observer>>;

/**
 * Seven entries written as an older version wrote them (`{ name, address }`: no groups, no
 * incarnation), each by `write`; resolves with how long after each write `watch` saw it. Checks
 * that such entries are nodes all the same, and that each was seen within a second (a poll
 * every few seconds could not do that).
 */
export async function legacyJoins(
  watch: Observer,
  write: (name: string, address: string) => Promise<unknown>,
): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < 7; i++) {
    const name = `n${i}@127.0.0.1`;
    const before = performance.now();
    await write(name, `127.0.0.1:${2000 + i}`);
    const seen = await watch.until((names) => names.includes(name), `${name} seen`);
    latencies.push(seen - before);
  }
  assert.deepEqual(watch.node('n0@127.0.0.1'), { name: 'n0@127.0.0.1', address: '127.0.0.1:2000' });
  const shown = latencies.map((ms) => ms.toFixed(1)).join(', ');
  assert.ok(Math.max(...latencies) < 1_000, shown);
  return latencies;
}

/** How long after `stop()` a stopped node's entry went from `watch` (its own discovery, `own`). */
export async function gracefulLeave(watch: Observer, own: Discovery, timeoutMs: number) {
  const name = 'leaver@127.0.0.1';
  await own.start({ ...hostFor(name, timeoutMs), update() {} });
  await watch.until((names) => names.includes(name), 'leaver registered');
  const stopped = performance.now();
  await own.stop();
  return (await watch.until((names) => !names.includes(name), 'leaver gone')) - stopped;
}

/**
 * Three workers meshed through the backend alone, one SIGKILLed: resolves with how long its
 * entry outlived it in `watch`'s view, after checking that the two others are still connected.
 */
export async function killedEntry(
  t: TestContextLike,
  backend: BackendUnderTest,
  watch: Observer,
  timeoutMs: number,
): Promise<number> {
  const workers = await spawnAll(new Cluster(t), backend, ['k1', 'k2', 'k3']);
  await meshed(workers);
  const [a, b, c] = workers as [Worker, Worker, Worker];
  const names = workers.map((w) => w.name).sort();
  await watch.until((seen) => seen.join() === names.join(), 'all three registered, alone');
  const killed = performance.now();
  c.kill('SIGKILL');
  const gone = await watch.until((seen) => !seen.includes(c.name), 'the entry expires', timeoutMs);
  assert.deepEqual(await a.request('peers'), [b.name]);
  return gone - killed;
}

/**
 * Three workers meshed through the backend; a freeze longer than every registration, then a
 * kill and a restart without data, leave calls flowing with no nodedown; every node registers
 * again with its groups as they are then (one changed while the server was down); a node
 * started afterwards is found through the backend.
 */
export async function outageScenario(t: TestContextLike, backend: BackendUnderTest) {
  const cluster = new Cluster(t);
  const workers = await spawnAll(cluster, backend, ['o1', 'o2', 'o3']);
  await meshed(workers);
  const [a, b, c] = workers as [Worker, Worker, Worker];
  await a.request('join', 'work');
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

  // Frozen for longer than a registration lives: every one has expired when it thaws.
  backend.server.signal('SIGSTOP');
  await sleep(backend.freezeMs);
  await callsFlow();
  backend.server.signal('SIGCONT');
  await sleep(500);
  await callsFlow();

  // An observer that knows the nodes through the backend alone (as a node connected on demand).
  const names = workers.map((w) => w.name).sort();
  const early = await observer(backend.make(), backend.timeoutMs, t);
  await early.until((seen) => names.every((n) => seen.includes(n)), 'every node seen');

  // Killed, then started again without its data (as a disposable server would be).
  await backend.server.kill();
  await b.request('join', 'web'); // registered when the server is back
  await sleep(backend.timeoutMs);
  await callsFlow();
  const restarted = performance.now();
  await backend.server.run(true);
  const watch = await observer(backend.make(), backend.timeoutMs, t);
  const back = await watch.until(
    (seen) => names.every((n) => seen.includes(n)),
    'all registered again',
    15_000,
  );
  t.diagnostic(
    `all 3 nodes registered again ${((back - restarted) / 1_000).toFixed(2)} s after ${backend.label} was restarted empty`,
  );
  // With their groups as they are now, the change made while the server was down included.
  await watch.untilGroups(a.name, { work: 1 });
  await watch.untilGroups(b.name, { web: 1 });
  await watch.untilGroups(c.name, {});
  // The early observer read the server again (it has b's new group) and lost no live node while
  // what its first read after the break lacked was held: at least the shorter of the two
  // backends' holds (Redis's) from the restart on. (A node registering again later than its hold,
  // on a slow machine, would be missed after it, as documented.)
  await early.untilGroups(b.name, { web: 1 });
  const heldUntil = restarted + holdMs(backend.timeoutMs, 2_000);
  const gaps = early.views.filter(
    (v) => v.at >= restarted && v.at < heldUntil && names.some((n) => !v.names.includes(n)),
  );
  assert.deepEqual(
    gaps.map((v) => v.names),
    [],
    'views that lacked a live node after the restart',
  );
  // The watch works again: a node that starts now is found by the others through the backend.
  const [d] = await spawnAll(cluster, backend, ['o4']);
  await meshed([...workers, d as Worker]);
  await callsFlow();
  for (const w of workers)
    assert.equal(
      w.events.filter((e) => e.event === 'nodedown').length,
      0,
      `${w.name} saw no nodedown`,
    );
}

/**
 * An in-process node whose groups change and that calls `groupsChanged()`: a watcher sees each
 * change (latency printed); a burst of changes, each made while the one before is being
 * written, ends with the latest, in the watcher's view and in the store (as a new reader finds
 * it), with no older state seen after it. `watcher` must learn changes through the backend's
 * events alone (no periodic re-read that would hide a change never announced).
 */
export async function groupsScenario(
  t: TestContextLike,
  backend: BackendUnderTest,
  watcher: Discovery,
) {
  const watch = await observer(watcher, backend.timeoutMs, t);
  const name = 'member@127.0.0.1';
  let groups: Record<string, number> = {};
  const member = backend.make();
  assert.equal(member.carriesGroups, true);
  await member.start({ ...hostFor(name, backend.timeoutMs, () => groups), update() {} });
  t.after(() => member.stop());
  await watch.untilGroups(name, {});
  assert.equal(watch.node(name)?.incarnation, `${name}-run`);

  const latencies: number[] = [];
  for (let i = 1; i <= 7; i++) {
    groups = { work: i, ...(i % 2 === 0 ? { web: 1 } : {}) };
    const before = performance.now();
    member.groupsChanged?.();
    latencies.push((await watch.untilGroups(name, groups)) - before);
  }
  const shown = latencies.map((ms) => ms.toFixed(1)).join(', ');
  t.diagnostic(
    `${backend.label}: a change of groups seen by a watcher ${shown} ms after groupsChanged() (median ${median(latencies).toFixed(1)} ms)`,
  );

  // Each change made while the previous one is on its way to the server.
  const burstFrom = watch.views.length;
  for (let i = 1; i <= 5; i++) {
    groups = { [`burst${i}`]: i };
    member.groupsChanged?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const latest = groups;
  await watch.untilGroups(name, latest);
  // Long enough for any write still under way to land (a refresh or a put takes milliseconds).
  await sleep(backend.timeoutMs);
  const seen = watch.views.slice(burstFrom).map((v) => JSON.stringify(v.nodes.get(name)?.groups));
  const firstLatest = seen.indexOf(JSON.stringify(latest));
  assert.deepEqual(
    seen.slice(firstLatest),
    seen.slice(firstLatest).map(() => JSON.stringify(latest)),
    `no older state after the latest: ${seen.join(' ')}`,
  );
  const reader = await observer(backend.make(), backend.timeoutMs, t);
  await reader.until((names) => names.includes(name), 'the member read from the store');
  assert.deepEqual({ ...reader.node(name)?.groups }, latest, 'the store holds the latest');
}
