/**
 * Protocol 2 across real processes: version negotiation (a peer with no common version is
 * refused, naming both ranges; an overlapping one speaks the common version), the per-call
 * envelope (metadata in, trailer out) for calls, casts and balanced calls, and what an
 * algorithm learns from outcomes (the failure's code, the server's load).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { CallOutcome, RpcNode, SelectionAlgorithm } from '../../src/index.js';
import { RpcError, startNode } from '../../src/index.js';
import { buildFrame } from '../../src/transport/frames.js';
import { encodeHello, newNonce } from '../../src/transport/handshake.js';
import { MessageType } from '../../src/transport/message-types.js';
import { Cluster, COOKIE, type Worker } from '../helpers/cluster.js';
import { RawPeer } from '../helpers/raw-peer.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

describe('protocol version negotiation', () => {
  let cluster: Cluster;
  let node: Worker;
  before(async () => {
    cluster = new Cluster();
    node = await cluster.spawn({ name: 'pv-node@127.0.0.1', behaviour: { captureLogs: true } });
  });
  after(() => cluster.cleanup());

  test('a peer that speaks only newer versions is refused, and the log names both ranges', async () => {
    const peer = await RawPeer.connect(node.address);
    try {
      await assert.rejects(
        peer.handshake({
          name: 'zz-future@127.0.0.1',
          cookie: COOKIE,
          versions: { min: 3, max: 4 },
        }),
        /no common protocol version \(this node speaks 1–2, zz-future@127\.0\.0\.1 speaks 3–4\)/,
      );
      await node.waitForEvent(
        (e) =>
          e.event === 'log' &&
          /refused: no common protocol version.*1–2.*3–4/.test(String(e.message)),
        5_000,
        'the refusal in the log',
      );
    } finally {
      peer.destroy();
    }
  });

  test('a peer whose range overlaps ours is accepted and speaks the common version', async () => {
    const peer = await RawPeer.connect(node.address);
    try {
      const hello = await peer.handshake({
        name: 'zz-newer@127.0.0.1',
        cookie: COOKIE,
        versions: { min: 2, max: 3 },
      });
      assert.deepEqual(hello.versions, { min: 1, max: 2 });
      assert.equal(peer.protocol, 2);
      // Protocol 2 for real: per-connection codec both ways, and the server's load in the reply.
      const first = await peer.call('Test', 'echo', [{ shape: 1, seen: 'once' }]);
      assert.deepEqual(first.value, { shape: 1, seen: 'once' });
      assert.equal(first.load, true, 'the first reply on a connection carries the load');
      const second = await peer.call('Test', 'echo', [{ shape: 2, seen: 'twice' }]);
      assert.deepEqual(second.value, { shape: 2, seen: 'twice' });
    } finally {
      peer.destroy();
    }
  });

  test('a protocol-1 peer (the first release) is accepted and speaks protocol 1', async () => {
    const peer = await RawPeer.connect(node.address);
    try {
      await peer.handshake({ name: 'zz-old@127.0.0.1', cookie: COOKIE });
      assert.equal(peer.protocol, 1);
      const reply = await peer.call('Test', 'meta', []);
      assert.deepEqual(reply, { ok: true, value: {} }, 'no trailer and no load on protocol 1');
    } finally {
      peer.destroy();
    }
  });

  test('connect() to a node with no common version rejects saying so', async () => {
    // A listener that answers every connection with a HELLO for versions 3–4.
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.write(
        buildFrame(
          MessageType.Hello,
          encodeHello({
            name: 'future@127.0.0.1',
            incarnation: 'f'.repeat(16),
            address: '127.0.0.1:1',
            nonce: newNonce(),
            maxFrameBytes: 1 << 20,
            heartbeatTimeoutMs: 3_000,
            versions: { min: 3, max: 4 },
          }),
        ),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const local = await startNode({ name: 'pv-dialer@127.0.0.1', cookie: COOKIE, logger: quiet });
    try {
      await assert.rejects(local.connect(`127.0.0.1:${port}`), (err: RpcError) => {
        assert.ok(err instanceof RpcError);
        assert.equal(err.code, 'service_unavailable');
        assert.match(
          err.message,
          /no common protocol version \(this node speaks 1–2, future@127\.0\.0\.1 speaks 3–4\)/,
        );
        return true;
      });
    } finally {
      await local.destroy();
      server.close();
    }
  });
});

/** Records every outcome the balancer reports; picks the first member. */
class Recording implements SelectionAlgorithm {
  static outcomes: [string, CallOutcome | undefined][] = [];
  chooseFromNodes(nodes: readonly string[]) {
    return nodes[0] as string;
  }
  releaseNode(node: string, outcome?: CallOutcome) {
    Recording.outcomes.push([node, outcome]);
  }
}

describe('the per-call envelope and outcomes, across processes', () => {
  let cluster: Cluster;
  let server: Worker;
  let caller: RpcNode;
  const TRACEPARENT = `00-${'4bf92f3577b34da6a3ce929d0e0e4736'}-${'00f067aa0ba902b7'}-01`;

  before(async () => {
    cluster = new Cluster();
    server = await cluster.spawn({ name: 'env-server@127.0.0.1' });
    caller = await startNode({ name: 'env-caller@127.0.0.1', cookie: COOKIE, logger: quiet });
    await caller.connect(server.address);
    await server.request('startLb', { algorithm: 'RoundRobin' });
  });
  after(async () => {
    await caller.destroy();
    cluster.cleanup();
  });

  test('a call carries metadata to the handler and brings its trailer back', async () => {
    const trailers: unknown[] = [];
    const value = await caller.call(server.name, 'Test', 'meta', [], {
      meta: { traceparent: TRACEPARENT, tenant: 'acme', when: new Date(5), ids: new Set([1n]) },
      onTrailer: (t) => void trailers.push(t),
    });
    const meta = {
      traceparent: TRACEPARENT,
      tenant: 'acme',
      when: new Date(5),
      ids: new Set([1n]),
    };
    assert.deepEqual(value, meta);
    assert.deepEqual(trailers, [{ servedBy: server.name, sawMeta: meta }]);
  });

  test('a cast carries its metadata too', async () => {
    await caller.cast(server.name, 'Test', 'recordMeta', [], { meta: { tenant: 'cast-tenant' } });
    const event = await server.waitForEvent((e) => e.event === 'cast-meta', 5_000, 'the cast');
    assert.deepEqual(event.meta, { tenant: 'cast-tenant' });
  });

  test('a balanced call carries metadata and trailer; lb.cast carries metadata', async () => {
    const lb = await caller.startLoadBalancer({ name: 'lb', nodeMatchList: [] });
    try {
      await lb.waitForMembers(1, { timeout: 5_000 });
      const trailers: unknown[] = [];
      const value = await lb.call('Test', 'meta', [], {
        meta: { tenant: 'balanced' },
        onTrailer: (t) => void trailers.push(t),
      });
      assert.deepEqual(value, { tenant: 'balanced' });
      assert.deepEqual(trailers, [{ servedBy: server.name, sawMeta: { tenant: 'balanced' } }]);
      await lb.cast('Test', 'recordMeta', [], { meta: { tenant: 'lb-cast' } });
      const event = await server.waitForEvent(
        (e) => e.event === 'cast-meta' && (e.meta as { tenant?: string }).tenant === 'lb-cast',
        5_000,
        'the balanced cast',
      );
      assert.ok(event);
    } finally {
      await lb.stop();
    }
  });

  test('an algorithm sees the failure code and the server’s load in its outcomes', async () => {
    Recording.outcomes = [];
    const other = await cluster.spawn({ name: 'env-other@127.0.0.1' });
    await caller.connect(other.address);
    await other.request('startLb', {});
    const lb = await caller.startLoadBalancer({
      name: 'lb',
      nodeMatchList: [],
      selectionAlgorithm: Recording,
    });
    try {
      await lb.waitForMembers(2, { timeout: 5_000 });
      const target = lb.members()[0] as string;
      assert.equal(await lb.call('Test', 'whoami', []), target);
      await assert.rejects(lb.call('Test', 'boom', ['handler bug']), {
        code: 'internal_server_error',
      });
      await assert.rejects(lb.call('Test', 'nope', []), { code: 'not_found' });
      const [ok, bug, missing] = Recording.outcomes.map(([, o]) => o);
      assert.equal(ok?.ok, true);
      assert.ok(ok?.load, 'the first reply carried the server’s load');
      assert.equal(typeof ok?.load?.elu, 'number');
      assert.equal(ok?.load?.inFlight, 0);
      assert.equal(bug?.code, 'internal_server_error');
      assert.equal(missing?.code, 'not_found');
      // A node too slow to answer in time: request_timeout. (A node that dies leaves the group
      // at once, and a selection whose node left is not reported, as with leases.)
      await assert.rejects(lb.call('Test', 'sleep', [2_000], { timeout: 300 }), {
        code: 'request_timeout',
      });
      assert.equal(Recording.outcomes.at(-1)?.[1]?.code, 'request_timeout');
    } finally {
      await lb.stop();
    }
  });
});
