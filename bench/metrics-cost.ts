/**
 * What the Prometheus collector costs per call, with both ends in one process (so one
 * `process.cpuUsage()` sees the client's and the server's share): a client node calls a server
 * node over 127.0.0.1 with 256 calls in flight and the 64 B payload, directly (`node.call`) and
 * through a balancer (`lb.call`), in three setups measured alternately in one run:
 *
 * - `none`: no subscriber on any channel (the library's own cost);
 * - `empty`: no-op subscribers on exactly the channels the collector listens to, so the library
 *   builds and publishes its trace contexts as it does for the collector (the traced path);
 * - `metrics`: `registerMetrics()` watching both nodes, the registry scraped once a second.
 *
 * `metrics − empty` is the collector's own cost per call; `empty − none` is the library's traced
 * path. Pin it to one core so the figures are CPU of one thread, not of two cores sharing work:
 *
 *   npm run build && taskset -c 1 node dist/bench/metrics-cost.js [--rounds=5] [--calls=200000]
 *
 * (`--setups=metrics` runs only that setup, e.g. under `node --cpu-prof`.) `--baseline=PATH` adds a
 * fourth setup, `baseline`: the `registerMetrics` of another build (PATH: its
 * `dist/src/metrics/index.js`, e.g. from a `git worktree` of an older commit), so a change to
 * the collector is measured against the one before it in the same run. The channels are global
 * by name, so the other build's collector hears this build's nodes.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { pathToFileURL } from 'node:url';
import { Registry } from 'prom-client';
import {
  DIAGNOSTICS_CHANNELS,
  type LoadBalancer,
  type RpcNode,
  startNode,
  TRACING_CHANNELS,
} from '../src/index.js';
import { registerMetrics } from '../src/metrics/index.js';
import { payload } from './lib/payloads.js';

type Setup = 'none' | 'empty' | 'metrics' | 'baseline';
type Kind = 'node.call' | 'lb.call';

const IN_FLIGHT = 256;
const BASELINE = process.argv.find((a) => a.startsWith('--baseline='))?.slice(11);
const ALL_SETUPS: readonly Setup[] = [
  'none',
  'empty',
  'metrics',
  ...(BASELINE ? ['baseline' as const] : []),
];
/** `--setups=metrics` measures only that one (for a profile); all of them by default. */
const SETUPS = (
  process.argv
    .find((a) => a.startsWith('--setups='))
    ?.slice(9)
    .split(',') ?? ALL_SETUPS
).filter((s): s is Setup => (ALL_SETUPS as readonly string[]).includes(s));
const KINDS: readonly Kind[] = ['node.call', 'lb.call'];

function option(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? fallback : Number(arg.split('=')[1]);
}

/** The channels the collector subscribes to, each with a no-op: the `empty` setup. */
function emptySubscribers(): () => void {
  const noop = () => {};
  const channels: diagnosticsChannel.Channel[] = [];
  for (const name of ['call', 'cast', 'serve'] as const) {
    const traced = diagnosticsChannel.tracingChannel(TRACING_CHANNELS[name]);
    channels.push(traced.start, traced.asyncEnd);
  }
  for (const name of ['select', 'selectEmpty', 'outlier', 'retry', 'probe'] as const) {
    channels.push(diagnosticsChannel.channel(TRACING_CHANNELS[name]));
  }
  channels.push(diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.nodeUp));
  channels.push(diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.nodeDown));
  for (const channel of channels) channel.subscribe(noop);
  return () => {
    for (const channel of channels) channel.unsubscribe(noop);
  };
}

async function setUp(setup: Setup, nodes: RpcNode[]): Promise<() => void> {
  if (setup === 'none') return () => {};
  if (setup === 'empty') return emptySubscribers();
  const register: typeof registerMetrics =
    setup === 'baseline'
      ? (await import(pathToFileURL(BASELINE as string).href)).registerMetrics
      : registerMetrics;
  const registry = new Registry();
  const metrics = register(registry, { nodes });
  const scrape = setInterval(() => void registry.metrics(), 1_000);
  return () => {
    clearInterval(scrape);
    metrics.close();
  };
}

/** `calls` calls with {@link IN_FLIGHT} in flight; CPU µs per call (user + system) and calls/s. */
async function run(call: () => Promise<unknown>, calls: number) {
  let started = 0;
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const worker = async () => {
    while (started < calls) {
      started++;
      await call();
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const used = process.cpuUsage(cpu);
  return {
    cpuUs: (used.user + used.system) / calls,
    perSec: calls / ((performance.now() - t0) / 1000),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const rounds = option('rounds', 5);
  const calls = option('calls', 200_000);
  const cookie = 'metrics-cost';
  const server = await startNode({ name: 'mc-server@127.0.0.1', cookie, logLevel: 'error' });
  server.expose('Bench', { echo: (value: unknown) => value });
  await server.startLoadBalancer({ name: 'bench' });
  const client = await startNode({ name: 'mc-client@127.0.0.1', cookie, logLevel: 'error' });
  await client.connect(server.address);
  const lb: LoadBalancer = await client.startLoadBalancer({ name: 'bench', nodeMatchList: [] });
  await lb.waitForMembers(1);
  const value = payload('small');
  const calls_: Record<Kind, () => Promise<unknown>> = {
    'node.call': () => client.call(server.name, 'Bench', 'echo', [value]),
    'lb.call': () => lb.call('Bench', 'echo', [value]),
  };
  const results = new Map<string, number[]>();
  for (let round = -1; round < rounds; round++) {
    // each round starts with a different setup, so drift over the run spreads evenly
    const order = SETUPS.map((_, i) => SETUPS[(i + Math.max(0, round)) % SETUPS.length] as Setup);
    for (const setup of order) {
      const tearDown = await setUp(setup, [client, server]);
      for (const kind of KINDS) {
        await run(calls_[kind], Math.min(20_000, calls)); // warm up this combination
        const { cpuUs } = await run(calls_[kind], round < 0 ? 20_000 : calls);
        if (round < 0) continue;
        const key = `${kind} ${setup}`;
        results.set(key, [...(results.get(key) ?? []), cpuUs]);
      }
      tearDown();
    }
  }
  console.log(
    `CPU µs per call, median of ${rounds} rounds (${calls} calls each, ${IN_FLIGHT} in flight)`,
  );
  for (const kind of KINDS) {
    const of = (setup: Setup) => results.get(`${kind} ${setup}`) ?? [];
    // differences paired round by round (measured minutes apart at most), then their median
    const diff = (a: Setup, b: Setup) => median(of(a).map((x, i) => x - (of(b)[i] as number)));
    for (const setup of SETUPS) {
      const all = of(setup).map((x) => x.toFixed(2));
      console.log(`  ${kind} ${setup}: ${median(of(setup)).toFixed(2)}  [${all.join(' ')}]`);
    }
    if (SETUPS.length < ALL_SETUPS.length) continue;
    console.log(
      `  ${kind}: traced path (empty − none) ${diff('empty', 'none').toFixed(2)}, collector (metrics − empty) ${diff('metrics', 'empty').toFixed(2)}, metrics − none ${diff('metrics', 'none').toFixed(2)}`,
    );
    if (BASELINE) {
      console.log(
        `  ${kind}: baseline collector (baseline − empty) ${diff('baseline', 'empty').toFixed(2)}, metrics − baseline ${diff('metrics', 'baseline').toFixed(2)}`,
      );
    }
  }
  await client.close();
  await server.close();
}

await main();
