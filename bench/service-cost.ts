/**
 * What a typed service proxy costs per call next to the plain call it makes, alternated in one
 * run (rounds × setups, median reported):
 *
 * - `dispatch`: the proxy's own path against a stub that returns a settled promise:
 *   `service.add(1, 2)` vs calling the stub directly (the proxy's cost and nothing else);
 * - `CallDirect`: `lb.service('Math').add(1, 2)` vs `lb.call('Math', 'add', [1, 2])` through a
 *   `CallDirect` balancer (in-process: codec and server path, no socket);
 * - `tcp`: the same through a balancer over 127.0.0.1 to another node in this process, 256 calls
 *   in flight.
 *
 *   npm run bench:service [-- --rounds=7 --calls=200000]
 */
import { type LoadBalancer, type RpcNode, startNode } from '../src/index.js';
import { makeService } from '../src/service.js';

const MathModule = { add: (a: number, b: number) => a + b };
type MathModule = typeof MathModule;

function option(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? fallback : Number(arg.split('=')[1]);
}
const ROUNDS = option('rounds', 7);
const CALLS = option('calls', 200_000);
const IN_FLIGHT = 256;

/** Runs `calls` calls of `one`, `IN_FLIGHT` at a time; ns per call. */
async function measure(calls: number, one: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  for (let done = 0; done < calls; done += IN_FLIGHT) {
    const batch: Promise<unknown>[] = [];
    for (let i = 0; i < IN_FLIGHT; i++) batch.push(one());
    await Promise.all(batch);
  }
  return Number(process.hrtime.bigint() - started) / calls;
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

interface Setup {
  name: string;
  calls: number;
  plain: () => Promise<unknown>;
  proxied: () => Promise<unknown>;
}

async function setups(lbDirect: LoadBalancer, lbTcp: LoadBalancer): Promise<Setup[]> {
  const settled = Promise.resolve(3);
  const stub = (_fn: string, _args: unknown[], _opts: unknown) => settled;
  const stubService = makeService<MathModule, object>(stub, 'stub');
  const direct = lbDirect.service<MathModule>('Math');
  const tcp = lbTcp.service<MathModule>('Math');
  return [
    {
      name: 'dispatch',
      calls: CALLS * 10,
      plain: () => stub('add', [1, 2], undefined),
      proxied: () => stubService.add(1, 2),
    },
    {
      name: 'CallDirect',
      calls: CALLS,
      plain: () => lbDirect.call('Math', 'add', [1, 2]),
      proxied: () => direct.add(1, 2),
    },
    {
      name: 'tcp',
      calls: CALLS / 2,
      plain: () => lbTcp.call('Math', 'add', [1, 2]),
      proxied: () => tcp.add(1, 2),
    },
  ];
}

async function main(): Promise<void> {
  const quiet = { logLevel: 'silent' as const, cookie: 'bench-service' };
  const server: RpcNode = await startNode({ name: 'svc-server@127.0.0.1', ...quiet });
  const client: RpcNode = await startNode({ name: 'svc-client@127.0.0.1', ...quiet });
  server.expose('Math', MathModule);
  client.expose('Math', MathModule);
  await server.startLoadBalancer({ name: 'math' });
  await client.connect(server.address);
  const { algorithms } = await import('../src/index.js');
  const lbDirect = await client.startLoadBalancer({
    name: 'direct',
    selectionAlgorithm: algorithms.CallDirect,
  });
  const lbTcp = await client.startLoadBalancer({ name: 'math', nodeMatchList: [] });
  await lbTcp.waitForMembers(1, { timeout: 5_000 });
  const all = await setups(lbDirect, lbTcp);
  // warm-up: every path compiled before the first measured round
  for (const s of all) {
    await measure(s.calls / 10, s.plain);
    await measure(s.calls / 10, s.proxied);
  }
  const results = new Map(
    all.map((s) => [s.name, { plain: [] as number[], proxied: [] as number[] }]),
  );
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of all) {
      const r = results.get(s.name) as { plain: number[]; proxied: number[] };
      // alternate which goes first, so neither always runs on a warmer heap
      if (round % 2 === 0) {
        r.plain.push(await measure(s.calls, s.plain));
        r.proxied.push(await measure(s.calls, s.proxied));
      } else {
        r.proxied.push(await measure(s.calls, s.proxied));
        r.plain.push(await measure(s.calls, s.plain));
      }
    }
  }
  console.log(
    `# ${ROUNDS} rounds, median ns per call (${IN_FLIGHT} in flight), Node.js ${process.version}`,
  );
  console.log('| setup | plain call | service proxy | difference |');
  console.log('|---|---:|---:|---:|');
  for (const s of all) {
    const r = results.get(s.name) as { plain: number[]; proxied: number[] };
    const plain = median(r.plain);
    const proxied = median(r.proxied);
    const diffs = r.plain.map((p, i) => (r.proxied[i] as number) - p);
    console.log(
      `| ${s.name} | ${plain.toFixed(0)} | ${proxied.toFixed(0)} | ${median(diffs).toFixed(0)} (${((median(diffs) / plain) * 100).toFixed(1)} %) |`,
    );
  }
  await Promise.all([
    client.close({ drainTimeoutMs: 1_000 }),
    server.close({ drainTimeoutMs: 1_000 }),
  ]);
}

await main();
