/**
 * The rpc-load-balancer client (DESIGN §2): a node seeded with the servers' addresses.
 * Single-server calls are `node.call('srv0@127.0.0.1', 'Bench', 'echo', [x])`; the balanced
 * case is a round-robin balancer on the group `bench` that the client itself stays out of
 * (`nodeMatchList: ['srv']`), called with `lb.call('Bench', 'echo', [x])`.
 */
import { type Observation, observe } from '../lib/observe.js';
import type { ServerInfo } from '../lib/protocol.js';
import { loadRpclb } from '../lib/rpclb-api.js';
import { type Connect, type SystemClient, waitUntil } from './types.js';

/** The rpclb client, with its node (for the observed variants). */
type RpclbClient = SystemClient & { node: Parameters<typeof observe>[1] };

/** `connectRpclb` with `kind` of observation set up first (the `rpclb+otel` and `rpclb+metrics` systems). */
export function observed(kind: Observation): Connect {
  return async (servers) => {
    const client = await connectRpclb(servers);
    const stop = await observe(kind, client.node);
    return {
      ...client,
      close: async () => {
        await stop();
        await client.close();
      },
    };
  };
}

export const connectRpclb = async (servers: ServerInfo[]): Promise<RpclbClient> => {
  const lib = await loadRpclb();
  if ('missing' in lib) throw new Error(lib.missing);
  const node = await lib.startNode({
    name: 'client@127.0.0.1',
    host: '127.0.0.1',
    port: 0,
    cookie: 'bench',
    seeds: servers.map((s) => `${s.host}:${s.port}`),
  });
  const names = servers.map((s) => s.name);
  await waitUntil(
    () => names.every((n) => node.peers().includes(n)),
    15_000,
    `rpc-load-balancer to connect to ${names.join(', ')}`,
  );
  const lb = await node.startLoadBalancer({
    name: 'bench',
    selectionAlgorithm: lib.algorithms.RoundRobin,
    nodeMatchList: ['srv'],
  });
  await waitUntil(
    () => lb.members().length === servers.length,
    15_000,
    `the 'bench' balancer to see ${servers.length} members`,
  );
  const first = names[0] as string;
  return {
    call: (value) => node.call(first, 'Bench', 'echo', [value]),
    callBalanced: (value) => lb.call('Bench', 'echo', [value]),
    close: () => node.close(),
    node,
  };
};
