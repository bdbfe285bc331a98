/**
 * The rpc-load-balancer server: a node exposing `Bench.echo`, in the balancer group `bench`
 * (round robin), so the client's balancer sees every server as a member.
 */
import { type Observation, observe } from '../lib/observe.js';
import { loadRpclb } from '../lib/rpclb-api.js';
import type { StartServer } from './types.js';

/** `startRpclbServer` with `kind` of observation set up on the server's node. */
export function observedServer(kind: Observation): StartServer {
  return async (index, counter) => {
    let stop: () => Promise<void> = async () => {};
    const handle = await startRpclbServer(index, counter, async (node) => {
      stop = await observe(kind, node);
    });
    return {
      ...handle,
      close: async () => {
        await stop();
        await handle.close();
      },
    };
  };
}

export const startRpclbServer = async (
  index: number,
  counter: Parameters<StartServer>[1],
  ready?: (node: import('../../src/index.js').RpcNode) => Promise<void>,
): ReturnType<StartServer> => {
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
  await ready?.(node);
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
