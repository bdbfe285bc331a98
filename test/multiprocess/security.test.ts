/**
 * What a node does with peers it must not trust: a wrong cookie, raw garbage, hostile or
 * truncated headers, protocol violations after a correct handshake, and a second process
 * claiming a name already in use. Each is refused or dropped (with a log line) while the node
 * keeps serving its proper peers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encodeValue } from '../../src/rpc/codec.js';
import { MessageType } from '../../src/transport/message-types.js';
import {
  Cluster,
  COOKIE,
  RequestFailed,
  type Worker,
  type WorkerEvent,
} from '../helpers/cluster.js';
import { seededRandom } from '../helpers/random.js';
import { RawPeer } from '../helpers/raw-peer.js';

const HANDSHAKE_TIMEOUT_MS = 800;
const cluster = new Cluster({ after });
/** The node under attack, and a proper peer calling it throughout. */
let node: Worker;
let friend: Worker;

before(async () => {
  [node, friend] = await Promise.all([
    cluster.spawn({
      name: 'sec-node@127.0.0.1',
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      behaviour: { captureLogs: true },
    }),
    cluster.spawn({ name: 'sec-friend@127.0.0.1' }),
  ]);
  await friend.request('connect', node.address);
});

const logs = (w: Worker, pattern: RegExp) =>
  w.events.filter((e) => e.event === 'log' && pattern.test(String(e.message)));
const waitForLog = (w: Worker, pattern: RegExp): Promise<WorkerEvent> =>
  w.waitForEvent(
    (e) => e.event === 'log' && e.level === 'warn' && pattern.test(String(e.message)),
    5_000,
    `warning ${pattern}`,
  );

/** Keeps calls from the friend to the node in flight while `attack` runs; all must succeed. */
async function whileServing(napMs: number, attack: () => Promise<void>): Promise<void> {
  const calls = friend.request<{ ok: boolean; code?: string }[]>(
    'burstTimed',
    node.name,
    'RpcTest',
    'nap',
    [napMs],
    20,
    10_000,
  );
  await attack();
  const outcomes = await calls;
  assert.deepEqual(
    outcomes.map((o) => o.ok || o.code),
    outcomes.map(() => true),
    'every call of the proper peer succeeded during the attack',
  );
  assert.equal(await friend.request('call', node.name, 'Test', 'upcase', ['ok']), 'OK');
}

function frameHeader(length: number): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(length >>> 0, 0);
  return header;
}

describe('wrong cookie', () => {
  test('is refused on both sides, logged by both, and leaves no trace', async (t) => {
    const local = new Cluster(t);
    const [x, y] = await Promise.all([
      local.spawn({
        name: 'cookie-x@127.0.0.1',
        cookie: 'cookie-one',
        behaviour: { captureLogs: true },
      }),
      local.spawn({
        name: 'cookie-y@127.0.0.1',
        cookie: 'cookie-two',
        behaviour: { captureLogs: true },
      }),
    ]);
    for (const [from, to] of [
      [y, x],
      [x, y],
    ] as const) {
      const err = await from.request('connect', to.address).then(
        () => assert.fail('connect should fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof RequestFailed);
      assert.equal(err.failure.code, 'service_unavailable');
      assert.equal(err.failure.statusCode, 503);
      assert.match(err.failure.message, /cookie/);
    }
    await waitForLog(x, /wrong cookie/);
    await waitForLog(y, /wrong cookie/);
    assert.deepEqual(await x.request('peers'), []);
    assert.deepEqual(await y.request('peers'), []);
    assert.equal(x.events.filter((e) => e.event === 'nodeup').length, 0);
    assert.equal(y.events.filter((e) => e.event === 'nodeup').length, 0);
    await assert.rejects(x.request('call', y.name, 'Test', 'echo', [1]), (e: RequestFailed) => {
      assert.equal(e.code, 'service_unavailable');
      return true;
    });
  });

  test('a raw peer with the wrong cookie gets a REJECT and is closed', async () => {
    const peer = await RawPeer.connect(node.address);
    await assert.rejects(
      peer.handshake({ name: 'zz-raw@127.0.0.1', cookie: 'wrong' }),
      /wrong cookie|cookie proof/,
    );
    await peer.waitClosed(2_000);
    assert.ok(!(await node.request<string[]>('peers')).includes('zz-raw@127.0.0.1'));
  });
});

describe('garbage before the handshake', () => {
  test('random bytes, a 4 GiB header, a zero header and half a frame are each dropped', async () => {
    await whileServing(HANDSHAKE_TIMEOUT_MS + 400, async () => {
      const random = seededRandom(1234);
      const noise = Buffer.from(Array.from({ length: 4096 }, () => Math.floor(random() * 256)));
      const cases: [string, Buffer, RegExp][] = [
        ['random bytes', noise, /dropped/],
        [
          'a 4 GiB length header',
          Buffer.concat([frameHeader(0xffffffff), Buffer.alloc(100)]),
          /frame_too_large/,
        ],
        ['a zero length header', Buffer.concat([frameHeader(0), Buffer.alloc(100)]), /empty_frame/],
      ];
      const peers = await Promise.all(cases.map(() => RawPeer.connect(node.address)));
      const half = await RawPeer.connect(node.address);
      const halfSentAt = Date.now();
      // A header promising 100 bytes, 10 of them, then silence.
      half.send(
        Buffer.concat([frameHeader(100), Buffer.from([MessageType.Hello]), Buffer.alloc(9)]),
      );
      for (const [i, [, bytes]] of cases.entries()) peers[i]?.send(bytes);
      await Promise.all(
        peers.map(async (peer, i) => {
          const closedAt = await peer.waitClosed(2_000);
          assert.ok(
            closedAt - halfSentAt < HANDSHAKE_TIMEOUT_MS,
            `${cases[i]?.[0]} dropped at once`,
          );
        }),
      );
      const halfClosedAt = await half.waitClosed(HANDSHAKE_TIMEOUT_MS + 2_000);
      assert.ok(
        halfClosedAt - half.dialledAt >= HANDSHAKE_TIMEOUT_MS - 50,
        'half a frame waits for the timeout',
      );
      for (const [, , pattern] of cases) await waitForLog(node, pattern);
      await waitForLog(node, /handshake timed out/);
    });
    assert.deepEqual(await node.request('peers'), [friend.name]);
  });

  test('a socket that sends nothing is dropped at the handshake timeout', async () => {
    const silent = await RawPeer.connect(node.address);
    await silent.nextFrame(MessageType.Hello, 2_000);
    const closedAt = await silent.waitClosed(HANDSHAKE_TIMEOUT_MS + 2_000);
    assert.ok(closedAt - silent.dialledAt >= HANDSHAKE_TIMEOUT_MS - 50);
    const port = silent.localPort;
    await waitForLog(node, new RegExp(`127\\.0\\.0\\.1:${port} dropped: handshake timed out`));
  });

  test('a frame over the pre-handshake limit is dropped before it is read', async () => {
    const peer = await RawPeer.connect(node.address);
    peer.send(Buffer.concat([frameHeader(1 << 20), Buffer.from([MessageType.Hello])]));
    await peer.waitClosed(2_000);
  });
});

describe('protocol violations after a correct handshake', () => {
  const cookie = COOKIE;

  test('the raw peer’s handshake works: it can call the node', async () => {
    const peer = await RawPeer.connect(node.address);
    await peer.handshake({ name: 'zz-good@127.0.0.1', cookie });
    assert.ok((await node.request<string[]>('peers')).includes('zz-good@127.0.0.1'));
    const reply = await peer.call('Test', 'echo', [{ hi: new Date(1) }]);
    assert.deepStrictEqual(reply, { ok: true, value: { hi: new Date(1) } });
    // Arguments that do not decode are a bad_request for that call only.
    const bad = await peer.call('Test', 'echo', [], 5_000, Buffer.from([0x92, 0x01]));
    assert.equal(bad.ok, false);
    assert.equal((bad.value as { code: string }).code, 'bad_request');
    const notArray = await peer.call('Test', 'echo', [], 5_000, encodeValue({ not: 'an array' }));
    assert.equal((notArray.value as { code: string }).code, 'bad_request');
    assert.deepEqual(await peer.call('Test', 'upcase', ['still open']), {
      ok: true,
      value: 'STILL OPEN',
    });
    peer.destroy();
  });

  test('garbage in well-framed control and reply messages is ignored; the node keeps serving', async () => {
    const peer = await RawPeer.connect(node.address);
    await peer.handshake({ name: 'zz-noise@127.0.0.1', cookie });
    const noise = Buffer.from([0xc1, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x00]);
    for (const type of [
      MessageType.GroupSync,
      MessageType.GroupDelta,
      MessageType.PeerList,
      MessageType.ReplyOk,
      MessageType.ReplyError,
      MessageType.Cancel,
      MessageType.Ping,
    ]) {
      peer.sendFrame(type, noise);
      peer.sendFrame(type, Buffer.from([1]));
      peer.sendFrame(type);
    }
    peer.sendFrame(MessageType.GroupSync, encodeValue([['not', 'a', 'state'], 42, null]));
    peer.sendFrame(MessageType.GroupDelta, encodeValue(['', -1]));
    peer.sendFrame(MessageType.PeerList, encodeValue([['bad name', 7], 'x', [null]]));
    peer.sendFrame(MessageType.ReplyOk, Buffer.from([0, 0, 0, 99, 0xc0]));
    assert.deepEqual(await peer.call('Test', 'upcase', ['alive']), { ok: true, value: 'ALIVE' });
    assert.equal(await friend.request('call', node.name, 'Test', 'upcase', ['ok']), 'OK');
    assert.ok((await node.request<string[]>('peers')).includes('zz-noise@127.0.0.1'));
    peer.destroy();
  });

  test('the node’s own name is refused (as the decider or not)', async () => {
    const peer = await RawPeer.connect(node.address);
    await assert.rejects(peer.handshake({ name: node.name, cookie }), /itself/);
    await peer.waitClosed(2_000);
  });

  test('the name of a connected node is refused and the real one stays', async () => {
    const peer = await RawPeer.connect(node.address);
    await assert.rejects(peer.handshake({ name: friend.name, cookie }), /in use/);
    assert.deepEqual(await node.request('peers'), [friend.name]);
    assert.equal(await friend.request('call', node.name, 'Test', 'whoami', []), node.name);
  });

  const violations: [string, string, (peer: RawPeer) => void, RegExp][] = [
    [
      'a truncated CALL',
      'aa-trunc@127.0.0.1',
      (p) => p.sendFrame(MessageType.Call, Buffer.from([0, 0, 0, 1])),
      /malformed CALL/,
    ],
    [
      'a CALL whose module name runs past the frame',
      'zz-runon@127.0.0.1',
      (p) => p.sendFrame(MessageType.Call, Buffer.from([0, 0, 0, 1, 0, 0, 0, 9, 200, 0x41])),
      /malformed CALL/,
    ],
    [
      'a CAST with no names',
      'zz-cast@127.0.0.1',
      (p) => p.sendFrame(MessageType.Cast),
      /malformed CAST/,
    ],
    [
      'an unknown message type',
      'aa-unknown@127.0.0.1',
      (p) => p.sendFrame(0x7f, Buffer.from('??')),
      /unknown message type/,
    ],
    [
      'a second HELLO',
      'zz-hello@127.0.0.1',
      (p) => p.sendFrame(MessageType.Hello, Buffer.alloc(10)),
      /unknown message type 0x1\b/,
    ],
    [
      'a frame over the node’s limit',
      'zz-huge@127.0.0.1',
      (p) => p.send(Buffer.concat([frameHeader(64 * 2 ** 20), Buffer.from([MessageType.Call])])),
      /frame_too_large/,
    ],
  ];
  for (const [what, name, violate, logged] of violations) {
    test(`${what} closes that connection only (and is logged)`, async () => {
      await whileServing(300, async () => {
        const peer = await RawPeer.connect(node.address);
        await peer.handshake({ name, cookie });
        assert.deepEqual((await peer.call('Test', 'upcase', ['x'])).value, 'X');
        violate(peer);
        await peer.waitClosed(2_000);
        await node.waitForEvent(
          (e) =>
            e.event === 'log' &&
            e.level === 'warn' &&
            logged.test(String(e.message)) &&
            String(e.message).includes(name),
          5_000,
          `log of ${what}`,
        );
      });
      assert.deepEqual(await node.request('peers'), [friend.name]);
      assert.equal(logs(node, /uncaught|unhandled/i).length, 0);
    });
  }
});

describe('duplicate node names', () => {
  test('a second process with a connected node’s name cannot join; the first stays', async (t) => {
    const local = new Cluster(t);
    const hub = await local.spawn({ name: 'm-hub@127.0.0.1' });
    // One name sorts before the hub's (that newcomer decides), one after (the hub decides).
    const originals = await Promise.all([
      local.spawn({ name: 'a-dup@127.0.0.1' }),
      local.spawn({ name: 'z-dup@127.0.0.1' }),
    ]);
    for (const original of originals) await original.request('connect', hub.address);
    const pids = await Promise.all(
      originals.map((o) => hub.request('call', o.name, 'RpcTest', 'pid', [])),
    );
    assert.deepEqual(
      pids,
      originals.map((o) => o.pid),
    );
    for (const original of originals) {
      const impostor = await local.spawn({ name: original.name });
      const err = await impostor.request('connect', hub.address).then(
        () => assert.fail('the impostor must not connect'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof RequestFailed);
      assert.equal(err.failure.code, 'service_unavailable');
      assert.match(err.failure.message, /in use/);
      assert.deepEqual(await impostor.request('peers'), []);
      assert.equal(await hub.request('call', original.name, 'RpcTest', 'pid', []), original.pid);
      assert.deepEqual(
        await original.request('peers'),
        [hub.name, ...originals.filter((o) => o !== original).map((o) => o.name)].sort(),
      );
      assert.equal(original.events.filter((e) => e.event === 'nodedown').length, 0);
    }
    assert.deepEqual(await hub.request('peers'), originals.map((o) => o.name).sort());
  });
});
