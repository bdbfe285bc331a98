/**
 * One process of the soak benchmark (bench/soak.ts), started with `--expose-gc`:
 *
 *   node --expose-gc dist/bench/soak-child.js worker <index>   a node exposing Bench.echo, in
 *                                                               the balancer group `soak`
 *   node --expose-gc dist/bench/soak-child.js caller           a node whose `soak` balancer
 *                                                               keeps N calls in flight
 *
 * Every process answers `sample` with its live heap after a full garbage collection and its
 * RSS; the caller also reports the calls it completed and failed. Children exit with the
 * orchestrator (see lib/child.ts).
 */
import type { LoadBalancer, RpcNode } from '../src/index.js';
import { describe, guardLifetime, serveParent, tell } from './lib/child.js';
import { payload } from './lib/payloads.js';
import type { MemorySample, ServerInfo, ToChild } from './lib/protocol.js';
import { loadRpclb, type RpclbModule } from './lib/rpclb-api.js';

const COOKIE = 'soak';
const GROUP = 'soak';

/** The load the caller runs: `inFlight` loops, each starting a call as soon as its last ends. */
interface Load {
  stop: boolean;
  calls: number;
  failures: Record<string, number>;
  done: Promise<void>;
}

const gc = (globalThis as { gc?: () => void }).gc;

function sample(load: Load | undefined): MemorySample {
  if (!gc) throw new Error('soak children need --expose-gc');
  // Twice: the first collection can leave work (finalizers, weak references) for the second.
  gc();
  gc();
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss, calls: load?.calls ?? 0, failures: { ...load?.failures } };
}

async function startWorker(lib: RpclbModule, index: number): Promise<RpcNode> {
  const node = await lib.startNode({
    name: `soak-w${index}@127.0.0.1`,
    host: '127.0.0.1',
    port: 0,
    cookie: COOKIE,
    logLevel: 'error',
  });
  node.expose('Bench', { echo: (x: unknown) => x });
  await node.startLoadBalancer({ name: GROUP });
  return node;
}

async function startCaller(lib: RpclbModule, servers: ServerInfo[]): Promise<LoadBalancer> {
  const node = await lib.startNode({
    name: 'soak-caller@127.0.0.1',
    host: '127.0.0.1',
    port: 0,
    cookie: COOKIE,
    seeds: servers.map((s) => `${s.host}:${s.port}`),
    logLevel: 'error',
  });
  closeNode = () => node.close({ drainTimeoutMs: 2_000 });
  // The caller only calls: it stays out of the group (nodeMatchList) but selects from it.
  const lb = await node.startLoadBalancer({ name: GROUP, nodeMatchList: ['soak-w'] });
  await lb.waitForMembers(servers.length, { timeout: 30_000 });
  return lb;
}

function startLoad(lb: LoadBalancer, inFlight: number): Load {
  const load: Load = { stop: false, calls: 0, failures: {}, done: Promise.resolve() };
  const value = payload('small');
  const loop = async () => {
    while (!load.stop) {
      try {
        await lb.call('Bench', 'echo', [value]);
        load.calls++;
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'other';
        load.failures[code] = (load.failures[code] ?? 0) + 1;
      }
    }
  };
  load.done = Promise.all(Array.from({ length: inFlight }, loop)).then(() => {});
  return load;
}

let closeNode: () => Promise<void> = async () => {};

async function main(): Promise<void> {
  guardLifetime();
  const [role, indexArg] = process.argv.slice(2);
  const lib = await loadRpclb();
  if ('missing' in lib) throw new Error(lib.missing);
  let lb: LoadBalancer | undefined;
  let load: Load | undefined;
  const handle = async (msg: ToChild) => {
    if (msg.type === 'sample') return { type: 'sample' as const, sample: sample(load) };
    if (msg.type === 'init' && role === 'caller') {
      lb = await startCaller(lib, msg.servers);
      return { type: 'ready' as const };
    }
    if (msg.type === 'load' && lb) {
      load = startLoad(lb, msg.inFlight);
      return { type: 'ready' as const };
    }
    throw new Error(`soak ${role} cannot handle '${msg.type}'`);
  };
  const close = async () => {
    if (load) {
      load.stop = true;
      await load.done;
    }
    await closeNode();
  };
  if (role === 'worker') {
    const node = await startWorker(lib, Number(indexArg));
    closeNode = () => node.close({ drainTimeoutMs: 2_000 });
    serveParent(handle, close);
    const colon = node.address.lastIndexOf(':');
    const info: ServerInfo = {
      index: Number(indexArg),
      host: node.address.slice(0, colon),
      port: Number(node.address.slice(colon + 1)),
      name: node.name,
      pid: process.pid,
    };
    tell({ type: 'ready', seq: 0, info });
  } else if (role === 'caller') {
    serveParent(handle, close);
    tell({ type: 'ready', seq: 0 });
  } else {
    throw new Error('usage: soak-child.js worker <index> | caller');
  }
}

main().catch((err: unknown) => {
  tell({ type: 'error', seq: 0, message: describe(err) });
  setImmediate(() => process.exit(1));
});
