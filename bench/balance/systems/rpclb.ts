/**
 * rpc-load-balancer in `npm run bench:balance`. A worker is a node that exposes `Work.serve` and
 * joins the group `work`; a caller is a node whose balancer `work` (the caller itself filtered
 * out) picks a worker for every `lb.call`. The balancer is started afresh for each measurement,
 * with the contender's algorithm and options, so no algorithm inherits another's state.
 */
import type { LoadBalancer, Logger } from '../../../src/index.js';
import { loadRpclb, type RpclbModule } from '../../lib/rpclb-api.js';
import { waitUntil } from '../../systems/types.js';
import type {
  CallerClient,
  Contender,
  Handle,
  WorkerConfig,
  WorkerInfo,
  WorkerServer,
} from '../types.js';

const GROUP = 'work';
const COOKIE = 'bench-balance';
/** Workers are named `w<slot>-g<generation>@127.0.0.1`; callers `c<index>@127.0.0.1`. */
const WORKER_NAME = /^w\d+-g\d+@/;

async function lib(): Promise<RpclbModule> {
  const mod = await loadRpclb();
  if ('missing' in mod) throw new Error(mod.missing);
  return mod;
}

export async function startRpclbWorker(
  slot: number,
  gen: number,
  handle: Handle,
  config: WorkerConfig,
): Promise<WorkerServer> {
  const { startNode } = await lib();
  const node = await startNode({
    name: `w${slot}-g${gen}@127.0.0.1`,
    host: '127.0.0.1',
    port: 0,
    cookie: COOKIE,
    seeds: config.join,
  });
  node.expose('Work', { serve: handle });
  node.groups.join(GROUP);
  return { info: { name: node.name, address: node.address }, close: () => node.close() };
}

/**
 * The callers' logger: warnings and errors on stderr, except the re-dialling of a seed that is
 * gone, which the kill scenario causes on purpose (every worker is a seed of every caller).
 */
function callerLogger(name: string): Logger {
  const line = (level: string) => (message: string) => {
    if (/seed: cannot connect/.test(message)) return;
    console.error(`[rpclb ${name}] ${level}: ${message}`);
  };
  return { debug: () => {}, info: () => {}, warn: line('warn'), error: line('error') };
}

export async function connectRpclb(index: number, workers: string[]): Promise<CallerClient> {
  const { startNode, algorithms } = await lib();
  const name = `c${index}@127.0.0.1`;
  const node = await startNode({
    name,
    host: '127.0.0.1',
    port: 0,
    cookie: COOKIE,
    seeds: workers,
    logger: callerLogger(name),
  });
  let lb: LoadBalancer | undefined;
  return {
    info: { addresses: [node.address] },
    async prepare(contender: Contender, expect: WorkerInfo[]) {
      const name = contender.algorithm ?? '';
      const algorithm = (algorithms as Record<string, unknown>)[name];
      if (typeof algorithm !== 'function') throw new Error(`no algorithm '${name}' in algorithms`);
      if (lb) await lb.stop();
      lb = await node.startLoadBalancer({
        ...(contender.balancerOpts ?? {}),
        name: GROUP,
        selectionAlgorithm: algorithm as typeof algorithms.Random,
        algorithmOpts: contender.algorithmOpts ?? {},
        nodeMatchList: [WORKER_NAME],
      });
      const current = lb;
      const wanted = expect
        .map((w) => w.name)
        .sort()
        .join(',');
      await waitUntil(
        () => [...current.members()].sort().join(',') === wanted,
        30_000,
        `the balancer to see exactly ${wanted}`,
      );
    },
    call(i: number, timeout: number, keyed: boolean) {
      if (!lb) return Promise.reject(new Error('call before prepare'));
      const opts = keyed ? { timeout, key: i } : { timeout };
      return lb.call('Work', 'serve', [], opts) as Promise<number>;
    },
    close: () => node.close(),
  };
}
