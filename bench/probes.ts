/**
 * What a load probe costs, next to a no-op call on the same connection: round-trip latency
 * (what probe-before-pick adds to a call) and CPU per probe on both ends (what probing costs a
 * cluster). One server node runs in a child process; the client's balancer uses a tiny algorithm
 * that only hands out its `ctx.probe` and counts the answers.
 *
 * Run on a quiet machine (or under the shared lock): `npm run build && node dist/bench/probes.js`.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type AlgorithmContext, algorithms, type ServerLoad, startNode } from '../src/index.js';

const SEQUENTIAL = 5_000;
const BURST = 50_000;
const OUTSTANDING = 64;

interface ProbeHandle {
  probe: (node: string) => void;
  answered: (node: string, load: ServerLoad) => void;
}

/** Filled by the algorithm's constructor: the balancer's probe function, and who hears answers. */
const handle: ProbeHandle = { probe: () => {}, answered: () => {} };

class ProbeOnly {
  constructor(ctx: AlgorithmContext) {
    if (ctx.probe === undefined) throw new Error('the balancer offers no probe');
    handle.probe = ctx.probe;
  }
  chooseFromNodes(nodes: readonly string[]): string {
    return nodes[0] as string;
  }
  onProbeResult(node: string, load: ServerLoad): void {
    handle.answered(node, load);
  }
}

async function serve(): Promise<void> {
  const node = await startNode({ name: 'srv@127.0.0.1', port: 0, cookie: 'probes' });
  node.expose('Bench', { noop: () => 0 });
  await node.startLoadBalancer({ name: 'probes', selectionAlgorithm: algorithms.RoundRobin });
  process.on('message', (msg: string) => {
    if (msg === 'cpu') process.send?.(process.cpuUsage());
    if (msg === 'stop') void node.close().then(() => process.exit(0));
  });
  process.send?.(node.address);
  process.on('disconnect', () => process.exit(0));
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

function summary(label: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const us = (ms: number) => `${(ms * 1000).toFixed(0)} µs`;
  return `${label}: p50 ${us(percentile(sorted, 0.5))}, p99 ${us(percentile(sorted, 0.99))}`;
}

async function measure(): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), ['--server'], { stdio: 'inherit' });
  const ask = <T>(msg: string) =>
    new Promise<T>((resolve) => {
      child.once('message', (reply) => resolve(reply as T));
      child.send(msg);
    });
  try {
    const address = await new Promise<string>((resolve) =>
      child.once('message', (a) => resolve(a as string)),
    );
    const client = await startNode({ name: 'client@127.0.0.1', port: 0, cookie: 'probes' });
    await client.connect(address);
    const lb = await client.startLoadBalancer({
      name: 'probes',
      selectionAlgorithm: ProbeOnly,
      nodeMatchList: ['srv'],
    });
    await lb.waitForMembers(1, { timeout: 5_000 });
    const target = 'srv@127.0.0.1';
    const probeOnce = () =>
      new Promise<void>((resolve) => {
        handle.answered = () => resolve();
        handle.probe(target);
      });
    const probeTimes: number[] = [];
    const callTimes: number[] = [];
    for (let i = 0; i < 500; i++) {
      await probeOnce();
      await lb.call('Bench', 'noop');
    }
    for (let i = 0; i < SEQUENTIAL; i++) {
      let t = performance.now();
      await probeOnce();
      probeTimes.push(performance.now() - t);
      t = performance.now();
      await lb.call('Bench', 'noop');
      callTimes.push(performance.now() - t);
    }
    // CPU: a burst with OUTSTANDING probes in flight, both processes' CPU over it
    const serverBefore = await ask<NodeJS.CpuUsage>('cpu');
    const clientBefore = process.cpuUsage();
    const started = performance.now();
    await new Promise<void>((resolve) => {
      let sent = 0;
      let answered = 0;
      handle.answered = () => {
        answered++;
        if (sent < BURST) {
          sent++;
          handle.probe(target);
        } else if (answered === BURST) resolve();
      };
      for (; sent < OUTSTANDING; sent++) handle.probe(target);
    });
    const elapsed = performance.now() - started;
    const clientCpu = process.cpuUsage(clientBefore);
    const serverAfter = await ask<NodeJS.CpuUsage>('cpu');
    // the same for no-op calls, to put a probe's cost in proportion
    const callClientBefore = process.cpuUsage();
    const callStarted = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: OUTSTANDING }, async () => {
        while (next++ < BURST) await lb.call('Bench', 'noop');
      }),
    );
    const callElapsed = performance.now() - callStarted;
    const callClientCpu = process.cpuUsage(callClientBefore);
    const callServerAfter = await ask<NodeJS.CpuUsage>('cpu');
    const cpu = (u: NodeJS.CpuUsage) => (u.user + u.system) / BURST;
    const diff = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => ({
      user: a.user - b.user,
      system: a.system - b.system,
    });
    const serverCpu = diff(serverAfter, serverBefore);
    const callServerCpu = diff(callServerAfter, serverAfter);
    console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
    console.log(summary(`probe round trip (sequential, ${SEQUENTIAL})`, probeTimes));
    console.log(summary(`no-op lb.call (sequential, ${SEQUENTIAL})`, callTimes));
    console.log(
      `${BURST} probes, ${OUTSTANDING} outstanding: ${((BURST / elapsed) * 1000).toFixed(0)} probes/s; CPU per probe: client ${cpu(clientCpu).toFixed(1)} µs, server ${cpu(serverCpu).toFixed(1)} µs`,
    );
    console.log(
      `${BURST} no-op calls, ${OUTSTANDING} outstanding: ${((BURST / callElapsed) * 1000).toFixed(0)} calls/s; CPU per call: client ${cpu(callClientCpu).toFixed(1)} µs, server ${cpu(callServerCpu).toFixed(1)} µs`,
    );
    await client.close();
  } finally {
    child.send('stop');
  }
}

if (process.argv.includes('--server')) await serve();
else await measure();
