/**
 * The discovery seam with nodes in one process on 127.0.0.1 and an in-memory backend: nodes
 * connect to what it reports (and only that, with peer exchange off), keep re-dialling a
 * reported address whose node went away, forget one that vanished from the view, and drop no
 * connection when the view empties (liveness stays with heartbeats).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import {
  type DiscoveredNode,
  type Discovery,
  type DiscoveryHost,
  type RpcNode,
  startNode,
} from '../../src/index.js';
import { waitFor } from '../helpers/cluster.js';
import { claimPort } from '../helpers/ports.js';

const quiet = { cookie: 'discovery', logLevel: 'silent' as const };
const nodes: RpcNode[] = [];
after(() => Promise.all(nodes.map((n) => n.destroy())));

/** An in-memory registry: every node registers; `publish` sends each host the current view. */
class Registry {
  readonly entries = new Map<string, DiscoveredNode>();
  readonly hosts = new Set<DiscoveryHost>();
  /** While `down`, nothing is published (an outage: hosts keep their last view). */
  down = false;

  discovery = (peerExchange = false): Discovery => {
    let mine: DiscoveryHost | undefined;
    return {
      kind: 'memory',
      peerExchange,
      start: (host) => {
        mine = host;
        this.hosts.add(host);
        this.entries.set(host.name, { name: host.name, address: host.address });
        this.publish();
      },
      stop: () => {
        if (mine) this.hosts.delete(mine);
      },
    };
  };

  publish(): void {
    if (this.down) return;
    for (const host of this.hosts) host.update(this.entries.values());
  }
}

async function start(name: string, registry: Registry, port = 0, peerExchange = false) {
  const node = await startNode({
    ...quiet,
    name,
    port,
    discovery: () => registry.discovery(peerExchange),
  });
  nodes.push(node);
  return node;
}

/** Every node of `members` is connected to every other one. */
const meshed = (members: RpcNode[], timeoutMs = 5_000) =>
  waitFor(
    () => members.every((n) => members.every((m) => m === n || n.peers().includes(m.name))),
    timeoutMs,
    `a full mesh of ${members.length}`,
  );

test('nodes connect to what discovery reports, and only that without peer exchange', async () => {
  const registry = new Registry();
  const c = await start('d-c@127.0.0.1', registry);
  // A node the registry does not list, connected to c (and dialling nothing itself): c's peer
  // list names it to every node that connects to c later.
  const hidden = await startNode({
    ...quiet,
    name: 'd-hidden@127.0.0.1',
    discovery: { kind: 'none', peerExchange: false, start() {}, stop() {} },
  });
  nodes.push(hidden);
  await hidden.connect(c.address);
  const a = await start('d-a@127.0.0.1', registry);
  const b = await start('d-b@127.0.0.1', registry, 0, true);
  await meshed([a, b, c]);
  // b exchanges peers: it dials the node c told it of. a does not.
  await waitFor(() => b.peers().includes(hidden.name), 5_000, 'b dials what c told it of');
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(a.peers(), ['d-b@127.0.0.1', 'd-c@127.0.0.1']);
  await assert.rejects(a.call(hidden.name, '$rpclb', 'inspect', []), {
    code: 'service_unavailable',
  });
  await Promise.all([a, b, c, hidden].map((n) => n.destroy()));
});

test('a reported address is re-dialled after its node left; a vanished one is forgotten', async () => {
  const registry = new Registry();
  const a = await start('r-a@127.0.0.1', registry);
  // Claimed, not port 0: b starts again on it, and other nodes listen on port 0 meanwhile.
  const port = await claimPort();
  const b = await start('r-b@127.0.0.1', registry, port);
  await meshed([a, b]);

  // b leaves gracefully (a goodbye, which alone would end re-dialling) but stays reported:
  // a node started again on its address is dialled by a.
  await b.close();
  await waitFor(() => a.peers().length === 0, 5_000, 'b gone');
  const b2 = await startNode({ ...quiet, name: 'r-b@127.0.0.1', port });
  nodes.push(b2);
  await waitFor(
    () => a.peers().includes('r-b@127.0.0.1'),
    5_000,
    'a re-dials the reported address',
  );

  // Now it vanishes from the view before going away: a forgets it.
  registry.entries.delete('r-b@127.0.0.1');
  registry.publish();
  await b2.close();
  const b3 = await startNode({ ...quiet, name: 'r-b@127.0.0.1', port });
  nodes.push(b3);
  await new Promise((resolve) => setTimeout(resolve, 800));
  assert.deepEqual(a.peers(), [], 'a forgot the vanished address');
  await Promise.all([a.destroy(), b3.destroy()]);
});

test('an empty view or an outage drops no connection: heartbeats judge liveness', async () => {
  const registry = new Registry();
  const a = await start('e-a@127.0.0.1', registry);
  const b = await start('e-b@127.0.0.1', registry);
  await meshed([a, b]);
  const downs: string[] = [];
  a.on('nodedown', (peer) => downs.push(peer));
  registry.down = true;
  const c = await start('e-c@127.0.0.1', registry); // registered, but nobody hears of it
  registry.down = false;
  registry.entries.clear();
  registry.publish(); // the backend lost every entry
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(a.peers(), ['e-b@127.0.0.1']);
  assert.deepEqual(downs, []);
  assert.equal(await a.call(b.name, '$rpclb', 'inspect', []).then(() => 'ok'), 'ok');
  // The backend is back and nodes re-register: c is dialled.
  for (const n of [a, b, c]) registry.entries.set(n.name, { name: n.name, address: n.address });
  registry.publish();
  await meshed([a, b, c]);
  await Promise.all([a, b, c].map((n) => n.destroy()));
});

test('close() stops the discovery before the goodbyes, within the close budget; destroy() too', async () => {
  const order: string[] = [];
  const watching: Discovery = {
    kind: 'ordered',
    start() {},
    stop() {
      order.push('discovery stopped');
    },
  };
  const a = await startNode({ ...quiet, name: 's-a@127.0.0.1', discovery: watching });
  const b = await startNode({ ...quiet, name: 's-b@127.0.0.1' });
  nodes.push(a, b);
  await b.connect(a.address);
  b.on('nodedown', (_peer, reason) => order.push(`b saw ${reason}`));
  await a.close();
  assert.deepEqual(order, ['discovery stopped', 'b saw goodbye']);

  // A backend that never finishes stopping holds neither close() nor destroy() past their budget.
  const hanging = () => ({ kind: 'hanging', start() {}, stop: () => new Promise<void>(() => {}) });
  const c = await startNode({ ...quiet, name: 's-c@127.0.0.1', discovery: hanging });
  let started = performance.now();
  await c.close({ drainTimeoutMs: 300 });
  assert.ok(performance.now() - started < 1_000, `close took ${performance.now() - started} ms`);
  const d = await startNode({ ...quiet, name: 's-d@127.0.0.1', discovery: hanging });
  started = performance.now();
  await d.destroy();
  assert.ok(performance.now() - started < 2_000, `destroy took ${performance.now() - started} ms`);
  await b.destroy();
});

test('an address found to lead to the node itself is not dialled again when reported again', async () => {
  const lines: string[] = [];
  let host: DiscoveryHost | undefined;
  const node = await startNode({
    cookie: 'discovery',
    name: 'self@127.0.0.1',
    host: '0.0.0.0',
    advertiseAddress: '127.0.0.1',
    logger: {
      debug: (m) => lines.push(m),
      info: (m) => lines.push(m),
      warn: (m) => lines.push(m),
      error: (m) => lines.push(m),
    },
    discovery: {
      kind: 'aliases',
      start: (h) => {
        host = h;
      },
      stop() {},
    },
  });
  nodes.push(node);
  const port = Number(node.address.split(':')[1]);
  // Another name for this node (it listens on every address): only a dial can tell.
  const alias = { address: `127.0.0.2:${port}` };
  const selfDials = () =>
    lines.filter((l) => l.includes('is this node itself: not dialled again')).length;
  host?.update([alias]);
  await waitFor(() => selfDials() === 1, 5_000, 'the alias dialled once');
  host?.update([]);
  host?.update([alias]);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(selfDials(), 1);
  assert.deepEqual(node.peers(), []);
  await node.destroy();
});
