/**
 * The bounded send queue (`maxSendQueueBytes`), against a real peer that is alive but does not
 * read: a raw-socket peer that authenticates, then stops reading. New calls and casts to it fail
 * at once with `service_unavailable` / `send_queue_full` (not executed, so `lb.call` goes
 * elsewhere), memory stays bounded, and a peer that keeps sending requests without reading the
 * replies is disconnected once the replies pass the hard ceiling.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeValue } from '../../src/rpc/codec.js';
import { Cluster, COOKIE, type Worker } from '../helpers/cluster.js';
import { RawPeer } from '../helpers/raw-peer.js';

const MiB = 2 ** 20;
const SLOW = 'slow@127.0.0.1';

interface Flood {
  heldBytes: number;
  outcomes: Record<string, number>;
}

/** A raw peer that authenticates to `node` as {@link SLOW}, then stops reading. */
async function slowPeer(
  t: { after(fn: () => unknown): void },
  node: Worker,
  groups?: Record<string, number>,
): Promise<RawPeer> {
  const peer = await RawPeer.connect(node.address);
  t.after(() => peer.destroy());
  await peer.handshake({ name: SLOW, cookie: COOKIE });
  if (groups) peer.sendFrame(0x31, encodeValue(groups));
  peer.pauseReading();
  // Alive, only not reading: it keeps pinging, so the node never times it out.
  const pinger = setInterval(() => peer.sendFrame(0x05), 200);
  t.after(() => clearInterval(pinger));
  return peer;
}

const FULL = 'service_unavailable/send_queue_full/true';

test('calls and casts to a peer that does not read fail at once with send_queue_full; memory stays bounded', async (t) => {
  const cluster = new Cluster(t);
  const node = await cluster.spawn({ name: 'sender@127.0.0.1', maxSendQueueBytes: MiB });
  await slowPeer(t, node);
  // 2 000 calls of 64 KiB: 128 MiB if nothing stopped them.
  const started = Date.now();
  const calls = await node.request<Flood>('flood', SLOW, 'call', 2_000, 64 * 1024, 2_000);
  t.diagnostic(
    `calls: ${JSON.stringify(calls.outcomes)}; ${(calls.heldBytes / MiB).toFixed(1)} MiB held; ` +
      `${Date.now() - started} ms`,
  );
  assert.ok((calls.outcomes[FULL] ?? 0) >= 1_700, 'most calls refused at once');
  // The others were sent (or queued) and are never answered: they time out.
  assert.equal(
    (calls.outcomes[FULL] ?? 0) + (calls.outcomes['request_timeout/undefined/false'] ?? 0),
    2_000,
  );
  assert.ok(calls.heldBytes < 32 * MiB, `${calls.heldBytes} bytes held`);

  const casts = await node.request<Flood>('flood', SLOW, 'cast', 2_000, 64 * 1024, 2_000);
  t.diagnostic(
    `casts: ${JSON.stringify(casts.outcomes)}; ${(casts.heldBytes / MiB).toFixed(1)} MiB held`,
  );
  assert.equal(casts.outcomes[FULL], 2_000, 'the queue is still full: every cast refused');
  assert.ok(casts.heldBytes < 8 * MiB);
  // The connection itself is fine: the peer is alive (its bytes arrive) and stays connected.
  assert.deepEqual(await node.request('peers'), [SLOW]);
});

test('lb.call takes a refused call (send_queue_full) to another member', async (t) => {
  const cluster = new Cluster(t);
  const caller = await cluster.spawn({ name: 'lb-caller@127.0.0.1', maxSendQueueBytes: 4 * MiB });
  const fast = await cluster.spawn({ name: 'lb-fast@127.0.0.1', seeds: [caller.address] });
  // RoundRobin: a retry goes to the next member. (LeastConnections keeps re-selecting a member
  // whose calls are refused at once, since its in-flight count stays the lowest.)
  await fast.request('startLb', { algorithm: 'RoundRobin' });
  await caller.request('startLb', { algorithm: 'RoundRobin', match: ['lb-fast'] });
  // The slow peer is a member of the balancer's group, as any node could be.
  await slowPeer(t, caller, { lb: 1 });
  const until = Date.now() + 5_000;
  while ((await caller.request<string[]>('lbMembers')).length < 2 && Date.now() < until)
    await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(await caller.request('lbMembers'), [fast.name, SLOW]);
  // Fill the queue to the slow member (those calls time out; their bytes stay queued).
  const prefill = await caller.request<Flood>('flood', SLOW, 'call', 400, 64 * 1024, 1_000);
  assert.ok((prefill.outcomes[FULL] ?? 0) > 0, 'the queue to the slow member is full');

  // 100 calls of 16 KiB: what goes to the fast member fits in its queue even in one burst.
  const lb = await caller.request<Flood>('flood', '', 'lb', 100, 16 * 1024, 3_000);
  t.diagnostic(`lb.call x 100 with the slow member's queue full: ${JSON.stringify(lb.outcomes)}`);
  assert.deepEqual(lb.outcomes, { [fast.name]: 100 });
});

test('a peer that sends requests but never reads the replies is disconnected, with a log line', async (t) => {
  const cluster = new Cluster(t);
  const node = await cluster.spawn({
    name: 'server@127.0.0.1',
    maxSendQueueBytes: MiB,
    maxFrameBytes: 256 * 1024,
    behaviour: { captureLogs: true },
  });
  const peer = await slowPeer(t, node);
  // 600 echo calls of 64 KiB: ~38 MiB of replies, far past the kernel's buffers and the
  // ceiling (2 x 1 MiB + one 256 KiB frame).
  const call = peer.callFrame('Test', 'echo', [new Uint8Array(64 * 1024)], 30_000).bytes;
  for (let i = 0; i < 600; i++) peer.send(call);
  const closedAt = await peer.waitClosed(15_000);
  const log = await node.waitForEvent(
    (e) => e.event === 'log' && /not reading/.test(String(e.message)),
    2_000,
    'the reason logged',
  );
  t.diagnostic(`closed ${closedAt - peer.connectedAt} ms after connecting; logged: ${log.message}`);
  assert.equal(log.level, 'warn');
  assert.match(String(log.message), /slow@127\.0\.0\.1/);
  assert.match(String(log.message), /127\.0\.0\.1:\d+/);
  assert.doesNotMatch(String(log.message), /\n/);
  // The queued replies are released with the socket (its pending writes go a few turns later).
  let buffers = Number.POSITIVE_INFINITY;
  for (const until = Date.now() + 3_000; buffers >= 12 * MiB && Date.now() < until; ) {
    buffers = (await node.request<{ arrayBuffers: number }>('memory')).arrayBuffers;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.diagnostic(`${(buffers / MiB).toFixed(1)} MiB of buffers after the close`);
  assert.ok(buffers < 12 * MiB, `${buffers} bytes of buffers`);
  assert.deepEqual(await node.request('peers'), []);
});
