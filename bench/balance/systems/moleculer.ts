/**
 * Moleculer in `npm run bench:balance`, with the TCP transporter set up as in the side-by-side
 * benchmark (bench/lib/moleculer-setup.ts: loopback only, static URLs, the project codec).
 *
 * A worker is a broker with a `work` service whose `serve` action runs the shared handler. Its
 * host name is its own (`w0-g0.bench`, a label only: connections use 127.0.0.1) because
 * Moleculer's Latency strategy measures per host, and each worker stands for a machine.
 * A caller process runs one broker per strategy under test, each with that strategy as its
 * registry's `strategy` and Moleculer's default options for it: this is how Moleculer is
 * configured, and a broker-wide strategy is also what starts the Latency strategy's pinger.
 */
import type moleculer from 'moleculer';
import { createBroker } from '../../lib/moleculer-setup.js';
import { waitUntil } from '../../systems/types.js';
import type {
  CallerClient,
  Contender,
  Handle,
  WorkerConfig,
  WorkerInfo,
  WorkerServer,
} from '../types.js';

const ACTION = 'work.serve';

export async function startMoleculerWorker(
  slot: number,
  gen: number,
  handle: Handle,
  config: WorkerConfig,
): Promise<WorkerServer> {
  const nodeID = `w${slot}-g${gen}`;
  const { broker, port } = createBroker(nodeID, config.join, { hostname: `${nodeID}.bench` });
  broker.createService({ name: 'work', actions: { serve: () => handle() } });
  await broker.start();
  return { info: { name: nodeID, address: `127.0.0.1:${port()}` }, close: () => broker.stop() };
}

interface ActionInfo {
  name: string;
  endpoints?: { nodeID: string; available: boolean }[];
}

interface TcpTransporter {
  sendGossipRequest(): void;
  addOfflineNode(id: string, host: string, port: number): void;
  nodes: { get(id: string): unknown };
}

/**
 * Makes `broker` discover `workers` now. Moleculer's TCP transporter gossips at most once a
 * second and then with one random node it has not heard from, so eight workers known only by
 * URL take ~20 s to be discovered, and a fresh worker several seconds more. Used only while
 * waiting between measurements (never during one) to keep the run short: a worker it does not
 * know yet is added by URL, and a gossip request goes out at once.
 */
function discoverNow(broker: moleculer.ServiceBroker, workers: WorkerInfo[]): void {
  const tx = (broker as unknown as { transit?: { tx?: TcpTransporter } }).transit?.tx;
  if (!tx) return;
  for (const w of workers) {
    if (tx.nodes.get(w.name)) continue;
    const colon = w.address.lastIndexOf(':');
    tx.addOfflineNode(w.name, w.address.slice(0, colon), Number(w.address.slice(colon + 1)));
  }
  tx.sendGossipRequest();
}

/** The node IDs that `broker` can call `work.serve` on. */
function endpointsOf(broker: moleculer.ServiceBroker): string[] {
  const registry = (
    broker as unknown as { registry: { getActionList(opts: object): ActionInfo[] } }
  ).registry;
  const action = registry
    .getActionList({ onlyAvailable: true, withEndpoints: true })
    .find((a) => a.name === ACTION);
  return (action?.endpoints ?? []).filter((e) => e.available).map((e) => e.nodeID);
}

export async function connectMoleculer(
  index: number,
  workers: string[],
  strategies: string[],
): Promise<CallerClient> {
  const brokers = new Map<string, { broker: moleculer.ServiceBroker; url: string }>();
  try {
    for (const strategy of strategies) {
      const nodeID = `c${index}-${strategy}`;
      const b = createBroker(nodeID, workers, { strategy });
      await b.broker.start();
      brokers.set(strategy, { broker: b.broker, url: `127.0.0.1:${b.port()}/${nodeID}` });
    }
  } catch (err) {
    await Promise.all([...brokers.values()].map((b) => b.broker.stop()));
    throw err;
  }
  let current: moleculer.ServiceBroker | undefined;
  return {
    info: { addresses: [...brokers.values()].map((b) => b.url) },
    async prepare(contender: Contender, expect: WorkerInfo[]) {
      const entry = brokers.get(contender.strategy ?? '');
      if (!entry) throw new Error(`no broker for strategy '${contender.strategy}'`);
      const broker = entry.broker;
      const wanted = expect
        .map((w) => w.name)
        .sort()
        .join(',');
      await waitUntil(
        () => {
          const seen = endpointsOf(broker).sort().join(',') === wanted;
          if (!seen) discoverNow(broker, expect);
          return seen;
        },
        30_000,
        `Moleculer (${contender.strategy}) to see exactly ${wanted}`,
      );
      current = broker;
    },
    call(_i: number, timeout: number) {
      if (!current) return Promise.reject(new Error('call before prepare'));
      return current.call(ACTION, {}, { timeout }) as Promise<number>;
    },
    async close() {
      await Promise.all([...brokers.values()].map((b) => b.broker.stop()));
    },
  };
}
