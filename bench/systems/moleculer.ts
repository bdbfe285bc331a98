/**
 * The Moleculer client: a broker with the servers as static TCP urls. Single-server calls pin
 * `nodeID: 'srv0'`; the balanced case lets Moleculer's default strategy (RoundRobin) choose.
 */
import { createBroker } from '../lib/moleculer-setup.js';
import { type Connect, waitUntil } from './types.js';

interface ActionInfo {
  name: string;
  endpoints?: { nodeID: string; available: boolean }[];
}

export const connectMoleculer: Connect = async (servers) => {
  const urls = servers.map((s) => `${s.host}:${s.port}/${s.name}`);
  const { broker } = createBroker('client', urls);
  await broker.start();
  const registry = (
    broker as unknown as {
      registry: { getActionList(opts: object): ActionInfo[] };
    }
  ).registry;
  await waitUntil(
    () => {
      const echo = registry
        .getActionList({ onlyAvailable: true, withEndpoints: true })
        .find((a) => a.name === 'bench.echo');
      return (echo?.endpoints?.filter((e) => e.available).length ?? 0) >= servers.length;
    },
    20_000,
    `Moleculer to discover bench.echo on ${servers.length} nodes`,
  );
  const first = servers[0]?.name ?? 'srv0';
  return {
    call: (value) => broker.call('bench.echo', value as object, { nodeID: first }),
    callBalanced: (value) => broker.call('bench.echo', value as object),
    close: () => broker.stop(),
  };
};
