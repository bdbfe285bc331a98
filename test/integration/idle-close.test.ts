/**
 * Idle connections on demand (`connections: { mode: 'on-demand', idleTimeoutMs }`), with nodes
 * in one process on 127.0.0.1 and the in-memory backend: a connection nothing used is closed
 * by either side without looking like a departure (groups unchanged on both sides, no monitor
 * event, `nodedown` with reason `'idle'`), the next call dials again, a call in flight keeps its
 * connection open, and a call that crosses the idle goodbye on the wire is refused as not
 * executed, never run and lost.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type GroupEvent, type RpcNode, startNode } from '../../src/index.js';
import { frameBytes } from '../../src/rpc/wire.js';
import { GoodbyeReason, MessageType } from '../../src/transport/message-types.js';
import { waitFor } from '../helpers/cluster.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { requestFrame } from '../helpers/frames.js';
import { MemoryRegistry } from '../helpers/memory-discovery.js';
import { RawPeer } from '../helpers/raw-peer.js';

const COOKIE = 'idle-close';
const quiet = { cookie: COOKIE, logLevel: 'silent' as const };
const nodes = new Set<RpcNode>();
after(() => Promise.all([...nodes].map((n) => n.destroy())));

async function start(name: string, registry: MemoryRegistry, idleTimeoutMs: number) {
  const node = await startNode({
    ...quiet,
    name,
    connections: { mode: 'on-demand', idleTimeoutMs },
    discovery: () => registry.discovery(),
  });
  nodes.add(node);
  return node;
}

/** Every `nodedown` of `node`, as `peer:reason`. */
function downs(node: RpcNode): string[] {
  const seen: string[] = [];
  node.on('nodedown', (peer, reason) => seen.push(`${peer}:${reason}`));
  return seen;
}

/** Every monitor event of `group` on `node`. */
function events(node: RpcNode, group: string): GroupEvent[] {
  const seen: GroupEvent[] = [];
  node.groups.monitor(group, (event) => seen.push(event));
  return seen;
}

const idleGoodbye = (f: Buffer) => f[0] === MessageType.Goodbye && f[1] === GoodbyeReason.Idle;

for (const closer of ['caller', 'worker'] as const) {
  test(`the ${closer} closes an idle connection; groups stay on both sides; the next call dials again`, {
    timeout: 20_000,
  }, async () => {
    const registry = new MemoryRegistry();
    // Only the closer reaps; the other keeps idle connections, and still takes an idle close.
    const idle = (side: string) => (side === closer ? 150 : Number.POSITIVE_INFINITY);
    const w = await start(`ic-w-${closer}@127.0.0.1`, registry, idle('worker'));
    const c = await start(`ic-c-${closer}@127.0.0.1`, registry, idle('caller'));
    w.expose('Work', { who: () => w.name });
    w.groups.join('work');
    c.groups.join('callers');
    await waitFor(() => c.groups.members('work').includes(w.name), 5_000, 'work from the registry');
    await waitFor(() => w.groups.members('callers').includes(c.name), 5_000, 'callers');
    const [cDowns, wDowns] = [downs(c), downs(w)];
    const [cEvents, wEvents] = [events(c, 'work'), events(w, 'callers')];

    // Taken before the call: the closer's last use (its reply, or its read of it) comes later,
    // and its idle clock may start before this process has read the reply.
    const lastUse = performance.now();
    assert.equal(await c.call(w.name, 'Work', 'who', []), w.name);
    assert.deepEqual(c.peers(), [w.name]);
    assert.deepEqual(w.peers(), [c.name]);

    await waitFor(() => cDowns.length > 0 && wDowns.length > 0, 5_000, 'the idle close');
    assert.ok(performance.now() - lastUse >= 150, 'not closed before the idle timeout');
    assert.deepEqual(cDowns, [`${w.name}:idle`]);
    assert.deepEqual(wDowns, [`${c.name}:idle`]);
    assert.deepEqual(c.peers(), []);
    assert.deepEqual(w.peers(), []);
    // Not a departure: still members, with no leave (and no join) on either side.
    assert.deepEqual(c.groups.members('work'), [w.name]);
    assert.deepEqual(w.groups.members('callers'), [c.name]);
    await sleep(20); // monitor events are delivered in a microtask, re-dials in a few ms
    assert.deepEqual(cEvents, []);
    assert.deepEqual(wEvents, []);
    assert.deepEqual(c.peers(), [], 'nothing re-dials an idle peer');

    const up = new Promise((resolve) => c.once('nodeup', resolve));
    assert.equal(await c.call(w.name, 'Work', 'who', []), w.name, 'the next call dials again');
    assert.equal(await up, w.name);
    assert.deepEqual(c.peers(), [w.name]);
    // A change made while not connected travels through the backend, as for any unconnected node.
    await waitFor(() => cDowns.length === 2, 5_000, 'the second idle close');
    w.groups.join('more');
    await waitFor(() => c.groups.members('more').includes(w.name), 5_000, 'more');
    assert.deepEqual(cEvents, []);
  });
}

test('a connection with a call in flight longer than the idle timeout stays open', {
  timeout: 20_000,
}, async () => {
  const registry = new MemoryRegistry();
  const w = await start('ic-slow-w@127.0.0.1', registry, 100);
  const c = await start('ic-slow-c@127.0.0.1', registry, 100);
  w.expose('Work', { slow: (ms: number) => sleep(ms).then(() => 'done') });
  c.expose('Back', { slow: (ms: number) => sleep(ms).then(() => 'back') });
  const [cDowns, wDowns] = [downs(c), downs(w)];
  // Either way: c waits for w's reply, and w for c's; each side reaps at 100 ms.
  const results = await Promise.all([
    c.call(w.name, 'Work', 'slow', [600]),
    sleep(50).then(() => w.call(c.name, 'Back', 'slow', [600])),
  ]);
  assert.deepEqual(results, ['done', 'back']);
  assert.deepEqual(cDowns, [], 'not closed while a call was in flight');
  assert.deepEqual(wDowns, []);
  await waitFor(() => cDowns.length > 0 && wDowns.length > 0, 5_000, 'closed once idle');
  assert.deepEqual(cDowns, [`${w.name}:idle`]);
});

test('after an idle close, the closer dials again only once the peer has read its goodbye', {
  timeout: 20_000,
}, async () => {
  // The goodbye is held on the network (a lost segment being retransmitted, say) while a new
  // connection's bytes pass: dialled at once, the new connection would reach a peer that still
  // holds the old one, and be refused as a duplicate.
  const registry = new MemoryRegistry();
  const proxy = await FaultProxy.start();
  try {
    const w = await startNode({
      ...quiet,
      name: 'ic-far-w@127.0.0.1',
      advertiseAddress: proxy.address,
      connections: { mode: 'on-demand', idleTimeoutMs: Number.POSITIVE_INFINITY },
      discovery: () => registry.discovery(),
    });
    nodes.add(w);
    proxy.target = w.address;
    w.expose('Work', { who: () => w.name });
    w.groups.join('work');
    const c = await start('ic-far-c@127.0.0.1', registry, 100);
    await waitFor(() => c.groups.members('work').includes(w.name), 5_000, 'work');
    assert.equal(await c.call(w.name, 'Work', 'who', []), w.name);
    let again: Promise<unknown> | undefined;
    c.once('nodedown', (_peer, reason) => {
      assert.equal(reason, 'idle');
      proxy.stallOpen(300); // the goodbye, sent in this turn, is held
      again = c.call(w.name, 'Work', 'who', [], { timeout: 3_000 });
    });
    await waitFor(() => again, 5_000, 'the idle close');
    assert.equal(await again, w.name);
    assert.deepEqual(c.peers(), [w.name]);
    assert.deepEqual(w.peers(), [c.name]);
  } finally {
    await proxy.close();
  }
});

test('a call that reaches the closer after its idle goodbye is refused, not run; a cast is run', {
  timeout: 10_000,
}, async () => {
  const registry = new MemoryRegistry();
  const node = await start('ic-raw@127.0.0.1', registry, 50);
  let ran = 0;
  node.expose('T', { count: () => ++ran });
  const name = 'zz-ic-raw@127.0.0.1';
  registry.entries.set(name, { name, address: '127.0.0.1:1', incarnation: 'i', groups: {} });
  registry.publish();
  const peer = await RawPeer.connect(node.address);
  try {
    await peer.handshake({ name, cookie: COOKIE, idleClose: true });
    await peer.nextFrame(idleGoodbye, 5_000);
    // What a caller sends before it reads the goodbye: on the wire ahead of its answer.
    const reply = await peer.call('T', 'count', []);
    assert.equal(reply.ok, false);
    const err = reply.value as { code: string; notExecuted: boolean; details: { reason: string } };
    assert.equal(err.code, 'service_unavailable');
    assert.equal(err.details.reason, 'connection_idle');
    assert.equal(err.notExecuted, true);
    assert.equal(ran, 0, 'the refused call did not run');
    // A cast has no reply to lose: it is still run.
    peer.send(frameBytes(requestFrame(0, 0, 'T', 'count', [])));
    await waitFor(() => ran === 1, 3_000, 'the cast');
    peer.sendFrame(MessageType.Goodbye); // the answer to the goodbye: the node closes the socket
    await peer.waitClosed(3_000);
  } finally {
    peer.destroy();
  }
  assert.deepEqual(node.peers(), []);
});

test('a peer that does not announce idle closes (an earlier release) is never closed for idleness', {
  timeout: 10_000,
}, async () => {
  const registry = new MemoryRegistry();
  const node = await start('ic-old@127.0.0.1', registry, 50);
  const name = 'zz-ic-old@127.0.0.1';
  registry.entries.set(name, { name, address: '127.0.0.1:1', incarnation: 'i', groups: {} });
  registry.publish();
  const peer = await RawPeer.connect(node.address);
  try {
    await peer.handshake({ name, cookie: COOKIE, versions: { min: 1, max: 2 } });
    const pinging = setInterval(() => peer.sendFrame(MessageType.Ping), 100);
    await sleep(600);
    clearInterval(pinging);
    assert.equal(
      peer.frames.some((f) => f[0] === MessageType.Goodbye),
      false,
    );
    assert.deepEqual(node.peers(), [name]);
  } finally {
    peer.destroy();
  }
});
