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
import {
  decodeValue,
  decodeValueAt,
  MESSAGE_CODEC,
  StreamCodec,
  type ValueCodec,
} from '../../../src/rpc/codec.js';
import { RpcLink, type Wire } from '../../../src/rpc/link.js';
import { RpcServer } from '../../../src/rpc/server.js';
import {
  decodeRequest,
  encodeProbeReply,
  encodeReply,
  frameBytes,
  frameId,
  type OutgoingFrame,
  type WireLoad,
} from '../../../src/rpc/wire.js';
import { MessageType } from '../../../src/transport/message-types.js';

const SELF = 'self@127.0.0.1';
const PEER = 'peer@127.0.0.1';
const OTHER = 'other@127.0.0.1';

/**
 * A connection stand-in: records what the client sends on it. `remote` is the codec the other
 * end uses (a per-connection one on protocol 2, as a real peer would).
 */
class FakeWire implements Wire {
  closed = false;
  sendLimit = 1 << 20;
  sendQueueFull = false;
  readonly frames: Buffer[] = [];
  readonly remote: ValueCodec;
  readonly link: RpcLink;
  constructor(
    readonly peerName: string,
    readonly protocol = 1,
  ) {
    this.remote = protocol >= 2 ? new StreamCodec() : MESSAGE_CODEC;
    this.link = new RpcLink(this);
  }
  send(frame: Buffer): void {
    this.push(frame);
  }
  send2(header: Buffer, body: Buffer): void {
    this.push({ header, body });
  }
  push(frame: OutgoingFrame): void {
    const bytes = frameBytes(frame);
    assert.equal(bytes.readUInt32BE(0), bytes.length - 4);
    this.frames.push(bytes.subarray(4));
  }
  /** The payloads of type `type` sent so far. */
  sent(type: number): Buffer[] {
    return this.frames.filter((f) => ((f[0] as number) & 0x1f) === type);
  }
  /** Decodes a request this side received, as the peer would (in order, on protocol 2). */
  read(frame: Buffer): { meta: unknown; args: unknown } {
    const header = decodeRequest(frame);
    assert.ok(header);
    const meta =
      header.envelopeEnd > 0
        ? this.remote.decode(frame, header.envelopeStart, header.envelopeEnd)
        : undefined;
    return { meta, args: this.remote.decode(frame, header.argsOffset, frame.length) };
  }
}

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function setup(defaultTimeoutMs = 10_000, protocol = 1) {
  const wires = new Map<string, FakeWire>([
    [PEER, new FakeWire(PEER, protocol)],
    [OTHER, new FakeWire(OTHER, protocol)],
  ]);
  const server = new RpcServer({ selfName: SELF, logger: quiet, exposeErrorStacks: true });
  const host: ClientHost = {
    selfName: SELF,
    defaultTimeoutMs,
    captureCallSites: true,
    logger: quiet,
    server,
    link: (peer) => wires.get(peer)?.link,
  };
  const client = new RpcClient(host);
  const peer = wires.get(PEER) as FakeWire;
  const other = wires.get(OTHER) as FakeWire;
  /** Answers the last CALL sent on `wire` (reading it first, as the peer would). */
  const reply = (
    wire: FakeWire,
    type: number,
    value: unknown,
    id?: number,
    load?: WireLoad,
    trailer?: unknown,
  ) => {
    const call = wire.sent(MessageType.Call).at(-1) as Buffer;
    if (wire.protocol >= 2) wire.read(call);
    const t = trailer === undefined ? undefined : wire.remote.encode(trailer, 0);
    const frame = encodeReply(wire.remote, type, id ?? frameId(call), value, load, t);
    return client.onReply(wire.link, frameBytes(frame).subarray(4));
  };
  return { client, server, wires, peer, other, reply };
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
    const frame = encodeReply(MESSAGE_CODEC, MessageType.ReplyOk, id, 'spoofed');
    client.onReply(other.link, frameBytes(frame).subarray(4));
    reply(peer, MessageType.ReplyOk, 'unknown', id + 1000);
    client.onReply(peer.link, Buffer.from([MessageType.ReplyOk, 0]));
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
    client.onConnectionClosed(peer.link, 'closed');
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

describe('RpcClient: protocol 2 (envelope, load, probes)', () => {
  const TRACEPARENT = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;

  test('metadata travels before the arguments; a call without it has no envelope', async () => {
    const { client, peer, reply } = setup(10_000, 2);
    const p = client.call(PEER, 'M', 'f', [1], { meta: { traceparent: TRACEPARENT, tenant: 7n } });
    const first = peer.read(peer.sent(MessageType.Call)[0] as Buffer);
    assert.deepEqual(first, { meta: { traceparent: TRACEPARENT, tenant: 7n }, args: [1] });
    reply(peer, MessageType.ReplyOk, 'ok');
    assert.equal(await p, 'ok');
    const q = client.call(PEER, 'M', 'f', [2]);
    const second = peer.read(peer.sent(MessageType.Call)[1] as Buffer);
    assert.deepEqual(second, { meta: undefined, args: [2] });
    reply(peer, MessageType.ReplyOk, 'ok');
    await q;
  });

  test('metadata is not sent to a protocol-1 peer, which could not read it', async () => {
    const { client, peer, reply } = setup(10_000, 1);
    const p = client.call(PEER, 'M', 'f', [1], { meta: { a: 1 } });
    assert.equal(decodeRequest(peer.sent(MessageType.Call)[0] as Buffer)?.envelopeEnd, 0);
    reply(peer, MessageType.ReplyOk, 'ok');
    assert.equal(await p, 'ok');
  });

  test('the trailer reaches onTrailer before the call settles, on success and on error', async () => {
    const { client, peer, reply } = setup(10_000, 2);
    const seen: object[] = [];
    const ok = client.call(PEER, 'M', 'f', [], { onTrailer: (t) => void seen.push(t) });
    reply(peer, MessageType.ReplyOk, 'value', undefined, undefined, { servedBy: 'w1', n: [1] });
    assert.deepEqual([...seen], [{ servedBy: 'w1', n: [1] }]);
    assert.equal(await ok, 'value');
    const failed = client.call(PEER, 'M', 'f', [], { onTrailer: (t) => void seen.push(t) });
    reply(
      peer,
      MessageType.ReplyError,
      toWireError(new RpcError('not_found', 'no')),
      undefined,
      undefined,
      { why: 'x' },
    );
    assert.equal(((await rejection(failed)) as RpcError).code, 'not_found');
    assert.deepEqual(seen[1], { why: 'x' });
  });

  test('an onTrailer that throws is contained: logged, and the call still settles', async () => {
    const lines: string[] = [];
    const wire = new FakeWire(PEER, 2);
    const client = new RpcClient({
      selfName: SELF,
      defaultTimeoutMs: 1000,
      captureCallSites: false,
      logger: { ...quiet, warn: (m) => lines.push(m) },
      server: new RpcServer({ selfName: SELF, logger: quiet, exposeErrorStacks: true }),
      link: () => wire.link,
    });
    const p = client.call(PEER, 'M', 'f', [], {
      onTrailer: () => {
        throw new Error('bug in the caller');
      },
    });
    const call = wire.sent(MessageType.Call)[0] as Buffer;
    wire.read(call);
    const frame = encodeReply(
      wire.remote,
      MessageType.ReplyOk,
      frameId(call),
      5,
      undefined,
      wire.remote.encode({ a: 1 }, 0),
    );
    client.onReply(wire.link, frameBytes(frame).subarray(4));
    assert.equal(await p, 5);
    assert.match(lines.join('\n'), /onTrailer .* threw: bug in the caller/);
  });

  test('the load a reply carries is kept per peer and given to the attempt', async () => {
    const { client, peer, reply } = setup(10_000, 2);
    assert.equal(client.peerLoad(PEER), undefined);
    const p = client.call(PEER, 'M', 'f', []);
    reply(peer, MessageType.ReplyOk, 1, undefined, { inFlight: 42, elu: 0.5 });
    await p;
    const load = client.peerLoad(PEER);
    assert.equal(load?.inFlight, 42);
    assert.equal(load?.elu, 0.5);
    assert.ok(typeof load?.at === 'number');
  });

  test('a probe resolves with the load the peer answers; unanswered ones time out', async () => {
    const { client, peer } = setup(10_000, 2);
    const p = client.probe(PEER, 1_000);
    const [probe] = peer.sent(MessageType.Probe);
    assert.ok(probe);
    client.onProbeReply(
      peer.link,
      encodeProbeReply(frameId(probe), { inFlight: 3, elu: 0.1 }).subarray(4),
    );
    const load = await p;
    assert.deepEqual([load.inFlight, load.elu], [3, 0.1]);
    const late = (await rejection(client.probe(PEER, 20))) as RpcError;
    assert.equal(late.code, 'request_timeout');
    const none = (await rejection(client.probe('ghost@127.0.0.1', 20))) as RpcError;
    assert.equal(none.details.reason, 'not_connected');
  });

  test('a protocol-1 peer cannot be probed', async () => {
    const { client } = setup(10_000, 1);
    const err = (await rejection(client.probe(PEER, 100))) as RpcError;
    assert.equal(err.code, 'service_unavailable');
    assert.equal(err.details.reason, 'probe_unsupported');
  });

  test('a reply that does not decode on protocol 2 asks for the connection to close', () => {
    const { client, peer } = setup(10_000, 2);
    client.call(PEER, 'M', 'f', []).catch(() => {});
    const id = frameId(peer.sent(MessageType.Call)[0] as Buffer);
    const bad = Buffer.from([MessageType.ReplyOk, 0, 0, 0, id, 0x92, 0x01]);
    assert.equal(client.onReply(peer.link, bad), false);
    client.rejectAll('done');
  });

  test('replies for calls that timed out are still decoded, keeping the codec in step', async () => {
    const { client, peer, reply } = setup(10_000, 2);
    await rejection(client.call(PEER, 'M', 'f', [], { timeout: 5 }));
    // the late reply introduces a shape the next reply refers to
    assert.equal(reply(peer, MessageType.ReplyOk, { shape: 1, of: 2 }), true);
    const p = client.call(PEER, 'M', 'f', []);
    assert.equal(reply(peer, MessageType.ReplyOk, { shape: 3, of: 4 }), true);
    assert.deepEqual(await p, { shape: 3, of: 4 });
  });

  test('metadata over the limits is refused with bad_request before anything is sent', async () => {
    const { client, peer } = setup(10_000, 2);
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i]));
    const cases: [unknown, RegExp][] = [
      [many, /65 keys/],
      [{ big: 'x'.repeat(20_000) }, /more than the limit/],
      [{ traceparent: 'not-a-traceparent' }, /traceparent/],
      [{ f: () => 1 }, /cannot be encoded/],
      [['not', 'an object'], /plain object/],
      [new Map([['a', 1]]), /plain object/],
    ];
    for (const [meta, message] of cases) {
      const err = (await rejection(
        client.call(PEER, 'M', 'f', [], { meta: meta as Record<string, unknown> }),
      )) as RpcError;
      assert.equal(err.code, 'bad_request');
      assert.match(err.message, message);
      assert.equal(err.notExecuted, true);
    }
    const cast = (await rejection(client.cast(PEER, 'M', 'f', [], { meta: many }))) as RpcError;
    assert.equal(cast.code, 'bad_request');
    assert.equal(peer.frames.length, 0);
  });

  test('after a refused oversized frame the codec stays in step with the peer', async () => {
    const { client, peer, reply } = setup(10_000, 2);
    peer.sendLimit = 2_000;
    const err = (await rejection(
      client.call(PEER, 'M', 'f', [{ fresh: 'x'.repeat(3_000) }]),
    )) as RpcError;
    assert.equal(err.details.reason, 'frame_too_large');
    const p = client.call(PEER, 'M', 'f', [{ fresh: 'y' }]);
    assert.deepEqual(peer.read(peer.sent(MessageType.Call)[0] as Buffer).args, [{ fresh: 'y' }]);
    reply(peer, MessageType.ReplyOk, 'fine');
    assert.equal(await p, 'fine');
  });

  test('a full send queue refuses new calls and casts with send_queue_full (not executed)', async () => {
    const { client, peer } = setup(10_000, 2);
    peer.sendQueueFull = true;
    for (const p of [client.call(PEER, 'M', 'f', []), client.cast(PEER, 'M', 'f', [])]) {
      const err = (await rejection(p)) as RpcError;
      assert.equal(err.code, 'service_unavailable');
      assert.equal(err.details.reason, 'send_queue_full');
      assert.equal(err.notExecuted, true);
    }
    assert.equal(peer.frames.length, 0);
  });

  test('after rejectAll (the node closed), calls fail with node_closed, not not_connected', async () => {
    const { client } = setup(10_000, 2);
    client.rejectAll('closing');
    const err = (await rejection(client.call('ghost@127.0.0.1', 'M', 'f', []))) as RpcError;
    assert.equal(err.details.reason, 'node_closed');
  });

  test('a local call sees the metadata and returns its trailer and load', async () => {
    const { client, server } = setup(10_000, 2);
    const { currentCall } = await import('../../../src/rpc/context.js');
    server.expose('Local', {
      meta: () => {
        const ctx = currentCall();
        ctx?.setTrailer('seen', ctx.meta.tenant);
        return Object.isFrozen(ctx?.meta);
      },
    });
    const trailers: unknown[] = [];
    const frozen = await client.call(SELF, 'Local', 'meta', [], {
      meta: { tenant: 'acme' },
      onTrailer: (t) => trailers.push(t),
    });
    assert.equal(frozen, true);
    assert.deepEqual(trailers, [{ seen: 'acme' }]);
  });
});

describe('wire helpers used here', () => {
  test('decodeValueAt decodes a range', () => {
    const bytes = Buffer.concat([Buffer.from([1, 2]), MESSAGE_CODEC.encode({ a: 1 }, 0)]);
    assert.deepEqual(decodeValueAt(bytes, 2), { a: 1 });
    assert.deepEqual(decodeValue(MESSAGE_CODEC.encode([1], 0)), [1]);
  });
});
