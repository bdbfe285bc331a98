/**
 * DNS discovery with real nodes in one process: three "pods" on 127.0.0.1, .2 and .3 sharing
 * one port, found through an injected resolver (as a headless service would answer); an
 * address that leaves the answer is no longer re-dialled. And once with a real name,
 * `localhost`, through the system resolver.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type DnsLookup, dnsDiscovery, type RpcNode, startNode } from '../../src/index.js';
import { waitFor } from '../helpers/cluster.js';

const quiet = { cookie: 'dns', logLevel: 'silent' as const };
const nodes: RpcNode[] = [];
after(() => Promise.all(nodes.map((n) => n.destroy())));

test('pods behind one name mesh; an address that leaves the answer is forgotten', async () => {
  const answer = { hosts: ['127.0.0.1', '127.0.0.2', '127.0.0.3'] };
  /** Lookups made by each pod's discovery. */
  const lookups = new Map<number, number>();
  const lookupFor =
    (i: number): DnsLookup =>
    async () => {
      lookups.set(i, (lookups.get(i) ?? 0) + 1);
      return answer.hosts.map((address) => ({ address, family: 4 }));
    };
  const start = async (i: number, port: number) => {
    const node = await startNode({
      ...quiet,
      name: `pod${i}@127.0.0.${i}`,
      host: `127.0.0.${i}`,
      port,
      discovery: () => dnsDiscovery({ name: 'pods.test', lookup: lookupFor(i), intervalMs: 100 }),
    });
    nodes.push(node);
    return node;
  };
  const first = await start(1, 0);
  const port = Number(first.address.split(':')[1]);
  const second = await start(2, port);
  const third = await start(3, port);
  const all = [first, second, third];
  await waitFor(() => all.every((n) => n.peers().length === 2), 5_000, 'a full mesh of 3 pods');

  // Pod 3 leaves the answer (its pod was deleted), then goes away; one started again at its
  // address is not dialled by anyone.
  answer.hosts = ['127.0.0.1', '127.0.0.2'];
  // Two lookups by pods 1 and 2 (lookups run one after the other: the first has been applied),
  // however late their timers run.
  const asked = [1, 2].map((i) => lookups.get(i) ?? 0);
  await waitFor(
    () => [1, 2].every((i, k) => (lookups.get(i) ?? 0) >= (asked[k] as number) + 2),
    5_000,
    'two lookups by pods 1 and 2 since pod 3 left the answer',
  );
  await third.close();
  const again = await startNode({ ...quiet, name: 'pod3@127.0.0.3', host: '127.0.0.3', port });
  nodes.push(again);
  await new Promise((resolve) => setTimeout(resolve, 800));
  assert.deepEqual(first.peers(), ['pod2@127.0.0.2']);
  assert.deepEqual(second.peers(), ['pod1@127.0.0.1']);
  // Back in the answer: dialled within a lookup or two.
  answer.hosts = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
  await waitFor(() => first.peers().includes('pod3@127.0.0.3'), 5_000, 'pod 3 dialled again');
});

test('a real name: localhost resolves to the node listening on 127.0.0.1', async () => {
  const server = await startNode({ ...quiet, name: 'dns-server@127.0.0.1' });
  nodes.push(server);
  const port = Number(server.address.split(':')[1]);
  const client = await startNode({
    ...quiet,
    name: 'dns-client@127.0.0.1',
    discovery: dnsDiscovery({ name: 'localhost', port, family: 4 }),
  });
  nodes.push(client);
  // The first lookup is done when startNode resolves, so the call waits for the dial under way.
  assert.equal(await client.call(server.name, '$rpclb', 'inspect', []).then(() => 'ok'), 'ok');
  assert.deepEqual(client.peers(), ['dns-server@127.0.0.1']);
});
