/**
 * The rpc-load-balancer server: a node exposing `Bench.echo`, in the balancer group `bench`
 * (round robin), so the client's balancer sees every server as a member.
 */
import { loadRpclb } from '../lib/rpclb-api.js';
import type { StartServer } from './types.js';

export const startRpclbServer: StartServer = async (index, counter) => {
  const lib = await loadRpclb();
  if ('missing' in lib) throw new Error(lib.missing);
  const node = await lib.startNode({
    name: `srv${index}@127.0.0.1`,
    host: '127.0.0.1',
    port: 0,
    cookie: 'bench',
  });
  node.expose('Bench', {
    echo: (x: unknown) => {
      counter.calls++;
      return x;
    },
  });
  await node.startLoadBalancer({ name: 'bench', selectionAlgorithm: lib.algorithms.RoundRobin });
  const colon = node.address.lastIndexOf(':');
  return {
    info: {
      host: node.address.slice(0, colon),
      port: Number(node.address.slice(colon + 1)),
      name: node.name,
    },
    close: () => node.close(),
  };
};
