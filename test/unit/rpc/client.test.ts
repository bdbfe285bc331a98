/**
 * The RPC client against fake connections (no network): the pending-request table, replies,
 * timeouts and aborts with CANCEL, failing exactly the calls of a dropped connection, the frame
 * size limit, and local calls through a real server.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, test } from 'node:test';
import { RpcError, toWireError } from '../../../src/errors.js';
import type { Logger } from '../../../src/logger.js';
import { type ClientHost, RpcClient } from '../../../src/rpc/client.js';
import { decodeValue, encodeValue } from '../../../src/rpc/codec.js';
import { RpcServer } from '../../../src/rpc/server.js';
import {
  decodeRequest,
  encodeReply,
  frameBytes,
  frameId,
  type OutgoingFrame,
} from '../../../src/rpc/wire.js';
import type { Connection } from '../../../src/transport/connection.js';
import { MessageType } from '../../../src/transport/message-types.js';

const SELF = 'self@127.0.0.1';
const PEER = 'peer@127.0.0.1';
const OTHER = 'other@127.0.0.1';

/** A connection stand-in: records what the client sends on it. */
class FakeConn {
  closed = false;
  sendLimit = 1 << 20;
  readonly frames: Buffer[] = [];
  constructor(readonly peerName: string) {}
  send(frame: Buffer): void {
    this.frames.push(frame.subarray(4));
  }
  push(frame: OutgoingFrame): void {
    const bytes = frameBytes(frame);
    assert.equal(bytes.readUInt32BE(0), bytes.length - 4);
    this.frames.push(bytes.subarray(4));
  }
  /** The payloads of type `type` sent so far. */
  sent(type: number): Buffer[] {
    return this.frames.filter((f) => f[0] === type);
  }
}

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function setup(defaultTimeoutMs = 10_000) {
  const conns = new Map<string, FakeConn>([
    [PEER, new FakeConn(PEER)],
    [OTHER, new FakeConn(OTHER)],
  ]);
  const server = new RpcServer({
    selfName: SELF,
    logger: quiet,
    exposeErrorStacks: true,
    send: () => assert.fail('a local call never touches a connection'),
  });
  const host: ClientHost = {
    selfName: SELF,
    defaultTimeoutMs,
    captureCallSites: true,
    server,
    connection: (peer) => conns.get(peer) as unknown as Connection | undefined,
    send: (conn, frame) => (conn as unknown as FakeConn).push(frame),
  };
  const client = new RpcClient(host);
  const peer = conns.get(PEER) as FakeConn;
  const other = conns.get(OTHER) as FakeConn;
  /** Answers the last CALL sent on `conn`. */
  const reply = (conn: FakeConn, type: number, value: unknown, id?: number) => {
    const call = conn.sent(MessageType.Call).at(-1) as Buffer;
    const frame = encodeReply(type, id ?? frameId(call), encodeValue(value));
    const bytes = frameBytes(frame);
    client.onReply(conn as unknown as Connection, bytes.subarray(4));
  };
  return { client, server, conns, peer, other, reply };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => assert.fail(`expected a rejection, got ${String(v)}`),
    (e: unknown) => e,
  );
}

describe('RpcClient', () => {
  test('a call sends one CALL frame and resolves with the OK reply', async () => {
    const { client, peer, reply } = setup();
    const p = client.call(PEER, 'Math', 'add', [1, 2], { timeout: 1234 });
    const [call] = peer.sent(MessageType.Call);
    assert.ok(call);
    const header = decodeRequest(call);
    assert.equal(header?.module, 'Math');
    assert.equal(header?.fn, 'add');
    assert.equal(header?.timeoutMs, 1234);
    assert.deepEqual(decodeValue(call.subarray(header?.argsOffset)), [1, 2]);
    reply(peer, MessageType.ReplyOk, { sum: 3n });
    assert.deepEqual(await p, { sum: 3n });
    assert.equal(client.pendingCount, 0);
  });

  test('an ERROR reply rejects with the RpcError, naming the target', async () => {
    const { client, peer, reply } = setup();
    const p = client.call(PEER, 'M', 'f', []);
    reply(peer, MessageType.ReplyError, toWireError(new RpcError('not_found', 'no such function')));
    const err = (await rejection(p)) as RpcError;
    assert.ok(err instanceof RpcError);
    assert.equal(err.code, 'not_found');
    assert.equal(err.statusCode, 404);
    assert.deepEqual(
      { node: err.details.node, module: err.details.module, function: err.details.function },
      { node: PEER, module: 'M', function: 'f' },
    );
  });

  test('a reply on another connection, or for an unknown id, is ignored', async () => {
    const { client, peer, other, reply } = setup();
    const p = client.call(PEER, 'M', 'f', [], { timeout: 50 });
    const id = frameId(peer.sent(MessageType.Call)[0] as Buffer);
    // The same id on the wrong connection.
    const frame = encodeReply(MessageType.ReplyOk, id, encodeValue('spoofed'));
    client.onReply(other as unknown as Connection, frameBytes(frame).subarray(4));
    reply(peer, MessageType.ReplyOk, 'unknown', id + 1000);
    client.onReply(peer as unknown as Connection, Buffer.from([MessageType.ReplyOk, 0]));
    const err = (await rejection(p)) as RpcError;
    assert.equal(err.code, 'request_timeout');
  });

  test('ids of concurrent calls are distinct', () => {
    const { client, peer } = setup();
    for (let i = 0; i < 500; i++)
      client.call(PEER, 'M', 'f', [], { timeout: 60_000 }).catch(() => {});
    const ids = peer.sent(MessageType.Call).map((f) => frameId(f));
    assert.equal(new Set(ids).size, 500);
    assert.ok(ids.every((id) => id > 0));
    client.rejectAll('done');
  });

  test('a timeout rejects with request_timeout, names the target, and sends CANCEL', async () => {
    const { client, peer, reply } = setup();
    const started = Date.now();
    const err = (await rejection(client.call(PEER, 'M', 'slow', [], { timeout: 30 }))) as RpcError;
    assert.ok(Date.now() - started >= 25);
    assert.equal(err.code, 'request_timeout');
    assert.equal(err.statusCode, 408);
    assert.equal(err.details.node, PEER);
    assert.equal(err.details.timeoutMs, 30);
    assert.match(err.stack ?? '', /client\.test\.js/, 'the stack points at the caller');
    const call = peer.sent(MessageType.Call)[0] as Buffer;
    const [cancel] = peer.sent(MessageType.Cancel);
    assert.equal(frameId(cancel as Buffer), frameId(call));
    // A late reply changes nothing.
    reply(peer, MessageType.ReplyOk, 'late');
    assert.equal(client.pendingCount, 0);
  });

  test('the default timeout applies when none is given', async () => {
    const { client, peer } = setup(40);
    const err = (await rejection(client.call(PEER, 'M', 'f', []))) as RpcError;
    assert.equal(err.code, 'request_timeout');
    assert.equal(err.details.timeoutMs, 40);
    assert.equal(decodeRequest(peer.sent(MessageType.Call)[0] as Buffer)?.timeoutMs, 40);
  });

  test('an abort rejects with the signal’s reason and sends CANCEL', async () => {
    const { client, peer } = setup();
    const controller = new AbortController();
    const p = client.call(PEER, 'M', 'f', [], { signal: controller.signal });
    const reason = new Error('user gave up');
    controller.abort(reason);
    assert.equal(await rejection(p), reason);
    assert.equal(peer.sent(MessageType.Cancel).length, 1);
    assert.equal(client.pendingCount, 0);
  });

  test('a signal shared by many calls aborts them all, with one listener that is removed after', async () => {
    const { client, peer, reply } = setup();
    const shared = new AbortController();
    const calls = Array.from({ length: 50 }, () =>
      client.call(PEER, 'M', 'f', [], { signal: shared.signal }),
    );
    assert.ok(getEventListeners(shared.signal, 'abort').length <= 1);
    reply(peer, MessageType.ReplyOk, 'one done');
    assert.equal(await calls.at(-1), 'one done');
    shared.abort(new Error('all of them'));
    for (const p of calls.slice(0, -1))
      assert.equal(((await rejection(p)) as Error).message, 'all of them');
    assert.equal(peer.sent(MessageType.Cancel).length, 49);
    // Finished calls leave no listener behind on a long-lived signal.
    const longLived = new AbortController();
    const done = client.call(PEER, 'M', 'f', [], { signal: longLived.signal });
    reply(peer, MessageType.ReplyOk, 1);
    await done;
    assert.equal(getEventListeners(longLived.signal, 'abort').length, 0);
  });

  test('an already aborted signal rejects before anything is sent', async () => {
    const { client, peer } = setup();
    const reason = new Error('too late');
    assert.equal(
      await rejection(client.call(PEER, 'M', 'f', [], { signal: AbortSignal.abort(reason) })),
      reason,
    );
    assert.equal(peer.frames.length, 0);
  });

  test('a dropped connection fails its calls at once, and only its calls', async () => {
    const { client, peer, other, reply } = setup();
    const onPeer = [client.call(PEER, 'M', 'f', []), client.call(PEER, 'M', 'g', [])];
    const onOther = client.call(OTHER, 'M', 'f', []);
    client.onConnectionClosed(peer as unknown as Connection, 'closed');
    for (const p of onPeer) {
      const err = (await rejection(p)) as RpcError;
      assert.equal(err.code, 'service_unavailable');
      assert.equal(err.statusCode, 503);
      assert.equal(err.details.node, PEER);
      assert.equal(err.details.reason, 'connection_lost');
      assert.equal(err.notExecuted, false, 'it may have run');
    }
    assert.equal(client.pendingCount, 1);
    reply(other, MessageType.ReplyOk, 'fine');
    assert.equal(await onOther, 'fine');
  });

  test('rejectAll fails every pending call with service_unavailable', async () => {
    const { client } = setup();
    const calls = [client.call(PEER, 'M', 'f', []), client.call(OTHER, 'M', 'f', [])];
    client.rejectAll('closing');
    for (const p of calls)
      assert.equal(((await rejection(p)) as RpcError).code, 'service_unavailable');
  });

  test('validation failures are bad_request and send nothing', async () => {
    const { client, peer } = setup();
    const cases: [Promise<unknown>, string][] = [
      [client.call('nope', 'M', 'f', []), 'node'],
      [client.call(PEER, '', 'f', []), 'module'],
      [client.call(PEER, 'M', 'é'.repeat(128), []), 'function'],
      [client.call(PEER, 'M', 'f', 'not an array' as unknown as unknown[]), 'args'],
      [client.call(PEER, 'M', 'f', [], { timeout: -1 }), 'timeout'],
      [client.call(PEER, 'M', 'f', [], null as unknown as undefined), 'options'],
      [client.cast(PEER, 'M', 'f', {} as unknown as unknown[]), 'args'],
    ];
    for (const [p, field] of cases) {
      const err = (await rejection(p)) as RpcError;
      assert.equal(err.code, 'bad_request', field);
      assert.equal(err.details.field, field);
      assert.equal(err.notExecuted, true);
    }
    const fn = (await rejection(client.call(PEER, 'M', 'f', [() => 1]))) as RpcError;
    assert.equal(fn.details.reason, 'unencodable_arguments');
    assert.equal(peer.frames.length, 0);
  });

  test('the size limit is exact: a frame of sendLimit bytes goes, one more byte does not', async () => {
    const { client, peer } = setup();
    // Find the payload size of a call and a cast with a given argument, then set the limit to it.
    for (const kind of ['call', 'cast'] as const) {
      peer.frames.length = 0;
      const send = (args: unknown[]) =>
        kind === 'call'
          ? client.call(PEER, 'Mod', 'fn', args, { timeout: 60_000 })
          : client.cast(PEER, 'Mod', 'fn', args);
      peer.sendLimit = 1 << 20;
      send(['x'.repeat(100)]).catch(() => {});
      const size = (peer.frames.at(-1) as Buffer).length;
      peer.sendLimit = size;
      send(['y'.repeat(100)]).catch(() => {});
      assert.equal(peer.frames.length, 2, `a ${kind} of exactly the limit is sent`);
      assert.equal((peer.frames.at(-1) as Buffer).length, size);
      const err = (await rejection(send(['z'.repeat(101)]))) as RpcError;
      assert.equal(err.code, 'bad_request', kind);
      assert.equal(err.details.reason, 'frame_too_large');
      assert.equal(peer.frames.length, 2);
    }
    client.rejectAll('done');
  });

  test('casts: sent to a connected node, refused for one that is not', async () => {
    const { client, peer } = setup();
    assert.equal(await client.cast(PEER, 'Log', 'info', ['hello']), undefined);
    const [cast] = peer.sent(MessageType.Cast);
    assert.equal(decodeRequest(cast as Buffer)?.fn, 'info');
    const err = (await rejection(client.cast('ghost@127.0.0.1', 'Log', 'info', []))) as RpcError;
    assert.equal(err.code, 'service_unavailable');
    assert.equal(err.details.reason, 'not_connected');
    assert.equal(err.details.node, 'ghost@127.0.0.1');
  });

  test('a local call runs the exposed handler with copy semantics, like a remote one', async () => {
    const { client, server } = setup();
    const kept: unknown[] = [];
    server.expose('Local', {
      keep: (value: { list: number[] }) => {
        kept.push(value);
        return value;
      },
      fail: () => {
        throw new RangeError('local failure');
      },
    });
    const arg = { list: [1, 2], when: new Date(3) };
    const out = (await client.call(SELF, 'Local', 'keep', [arg])) as typeof arg;
    assert.deepStrictEqual(out, arg);
    assert.notEqual(out, arg, 'the result is a copy');
    assert.notEqual(kept[0], arg, 'the handler got a copy');
    const err = (await rejection(client.call(SELF, 'Local', 'fail', []))) as RpcError;
    assert.equal(err.code, 'internal_server_error');
    assert.equal(err.details.node, SELF);
    assert.equal(err.details.remote?.name, 'RangeError');
    const missing = (await rejection(client.call(SELF, 'Local', 'missing', []))) as RpcError;
    assert.equal(missing.code, 'not_found');
    assert.equal(missing.details.node, SELF);
  });
});
