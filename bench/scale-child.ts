/**
 * One node process of the scale benchmark (bench/scale.ts):
 *
 *   node dist/bench/scale-child.js '<ScaleChildSpec as JSON>'
 *
 * A worker joins the group `work` and counts the `Work.hit` calls it serves; a caller runs a
 * balancer over `work` (it stays out of the group) and, when asked, makes a steady low rate of
 * `lb.call`s. Every process reports, on its own clock, when its view became complete (in a
 * mesh: all the other nodes connected and every worker in the group; on demand, with
 * subsetting: every worker in the group, and for a caller, every caller counted in its subset),
 * measures its own CPU over an idle window,
 * and records when each member left the group (for the SIGKILL measurement). It exits with the
 * orchestrator (lib/child.ts).
 */
import { performance } from 'node:perf_hooks';
import { callersGroup } from '../src/balancer/subset-options.js';
import type { LoadBalancer, RpcNode } from '../src/index.js';
import { transportSocketStats } from '../src/transport/transport.js';
import { describe, serveParent, tell } from './lib/child.js';
import type {
  ScaleChildSpec,
  ScaleFromChild,
  ScaleReply,
  ScaleToChild,
} from './lib/scale-protocol.js';
import { GROUP } from './lib/scale-protocol.js';

const now = () => performance.timeOrigin + performance.now();

interface State {
  spec: ScaleChildSpec;
  node: RpcNode;
  lb: LoadBalancer | undefined;
  convergedAt: number | undefined;
  leftAt: Map<string, number>;
  served: number;
  load: { stop: boolean; calls: number; failures: number } | undefined;
}

async function startNode(spec: ScaleChildSpec): Promise<RpcNode> {
  const lib = await import('../src/index.js');
  const base = {
    name: spec.name,
    host: '127.0.0.1',
    port: 0,
    cookie: 'scale',
    logLevel: 'error' as const,
    heartbeatTimeoutMs: spec.heartbeatTimeoutMs,
  };
  if (spec.etcd) {
    const { etcdDiscovery } = await import('../src/discovery/etcd.js');
    const { url, prefix } = spec.etcd;
    return lib.startNode({
      ...base,
      discovery: () => etcdDiscovery({ hosts: url, prefix }),
      ...(spec.minAperture !== undefined ? { connections: 'on-demand' as const } : {}),
    });
  }
  return lib.startNode({ ...base, seeds: spec.seeds });
}

/** Watches the node's view, recording when it first became complete and when members left. */
function watchView(state: State, spec: ScaleChildSpec): void {
  const { node } = state;
  const check = () => {
    if (state.convergedAt !== undefined) return;
    const members = node.groups.members(GROUP).length;
    const lbMembers = state.lb ? state.lb.members().length : spec.workers;
    const connected =
      spec.minAperture === undefined
        ? node.peers().length === spec.nodes - 1
        : state.lb === undefined || state.lb.subset()?.callerCount === spec.nodes - spec.workers;
    if (connected && members === spec.workers && lbMembers === members) state.convergedAt = now();
  };
  node.groups.monitor(GROUP, (event) => {
    if (event.type === 'leave') for (const n of event.nodes) state.leftAt.set(n, now());
    check();
  });
  node.on('nodeup', check);
  // Callers join their own group, which no monitor above sees.
  if (state.lb) node.groups.monitor(callersGroup(GROUP), check);
  check();
}

/**
 * Replaces the caller's balancer by one with `algorithm` (a built-in's name), then makes
 * `ratePerSec` calls a second through it, evenly spaced, each awaited on its own (open loop).
 */
async function startLoad(state: State, ratePerSec: number, algorithm: string): Promise<void> {
  if (ratePerSec === 0) {
    if (state.load) state.load.stop = true;
    return;
  }
  const { algorithms } = await import('../src/index.js');
  const selectionAlgorithm = algorithms[algorithm as keyof typeof algorithms];
  if (!state.lb || !selectionAlgorithm)
    throw new Error(`a caller and a built-in algorithm, not ${algorithm}`);
  if (state.load) state.load.stop = true;
  await state.lb.stop();
  const lb = await state.node.startLoadBalancer({
    ...balancerOptions(state.spec),
    selectionAlgorithm,
  });
  state.lb = lb;
  const load = { stop: false, calls: state.load?.calls ?? 0, failures: state.load?.failures ?? 0 };
  state.load = load;
  const timer = setInterval(() => {
    if (load.stop) return clearInterval(timer);
    lb.call('Work', 'hit', [], { timeout: 5_000 }).then(
      () => load.calls++,
      () => load.failures++,
    );
  }, 1_000 / ratePerSec);
}

/** The callers' balancer over the workers; with a subset in subset mode. */
function balancerOptions(spec: ScaleChildSpec) {
  return {
    name: GROUP,
    nodeMatchList: ['w'],
    ...(spec.minAperture !== undefined ? { subset: { minAperture: spec.minAperture } } : {}),
  };
}

/** CPU used by this process over `ms` of wall time, as % of one core; memory at the end. */
async function idle(node: RpcNode, ms: number) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  const { rss, heapUsed } = process.memoryUsage();
  const cpuPct = ((cpu.user + cpu.system) / 1_000 / wall) * 100;
  return {
    cpuPct,
    rss,
    heapUsed,
    sockets: transportSocketStats().open,
    peers: node.peers().length,
  };
}

/**
 * Resolves once none of `names` is a member any more: with the latest time one of them left the
 * group, and (with a subset) the first time none of them was in the caller's window, polled.
 */
async function goneAt(state: State, names: string[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let windowAt: number | null = null;
  for (;;) {
    const members = state.lb?.members() ?? state.node.groups.members(GROUP);
    const window = state.lb?.subset()?.window.map((w) => w.node);
    if (window && windowAt === null && !names.some((n) => window.includes(n))) windowAt = now();
    if (!names.some((n) => members.includes(n))) {
      const at = Math.max(...names.map((n) => state.leftAt.get(n) ?? Number.NaN));
      return { at, windowAt: window ? Math.min(windowAt ?? at, at) : null };
    }
    if (Date.now() > deadline) throw new Error(`still selecting some of ${names.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function handle(state: State, msg: ScaleToChild): Promise<ScaleReply> {
  switch (msg.type) {
    case 'status':
      return {
        type: 'status',
        convergedAt: state.convergedAt ?? null,
        peers: state.node.peers().length,
        members: state.node.groups.members(GROUP).length,
      };
    case 'idle':
      return { type: 'idle', ...(await idle(state.node, msg.ms)) };
    case 'load':
      await startLoad(state, msg.ratePerSec, msg.algorithm);
      return { type: 'ok' };
    case 'counts':
      return {
        type: 'counts',
        served: state.served,
        calls: state.load?.calls ?? 0,
        failures: state.load?.failures ?? 0,
      };
    case 'gone':
      return { type: 'gone', ...(await goneAt(state, msg.names, msg.timeoutMs)) };
    case 'subset':
      return { type: 'subset', window: state.lb?.subset()?.window.map((w) => w.node) ?? null };
    default:
      throw new Error(`unknown request ${(msg as { type: string }).type}`);
  }
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as ScaleChildSpec;
  const node = await startNode(spec);
  const state: State = {
    spec,
    node,
    lb: undefined,
    convergedAt: undefined,
    leftAt: new Map(),
    served: 0,
    load: undefined,
  };
  if (spec.role === 'worker') {
    node.expose('Work', {
      hit: () => {
        state.served++;
        return null;
      },
    });
    node.groups.join(GROUP);
  } else {
    // Callers select from the group without joining it.
    state.lb = await node.startLoadBalancer(balancerOptions(spec));
  }
  watchView(state, spec);
  serveParent<ScaleToChild, ScaleFromChild>(
    (msg) => handle(state, msg),
    async () => {
      if (state.load) state.load.stop = true;
      await node.close({ drainTimeoutMs: 500 });
    },
  );
  tell<ScaleFromChild>({ type: 'ready', seq: 0, address: node.address, at: now() });
}

main().catch((err: unknown) => {
  tell({ type: 'error', seq: 0, message: describe(err) });
  setImmediate(() => process.exit(1));
});
