/**
 * The RPC server against fake connections (no network): dispatch to exposed functions only,
 * the call context, cancellation and dropped callers aborting the handler's signal, draining,
 * and the in-flight count that graceful close waits on.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RpcError, type WireError } from '../../../src/errors.js';
import type { Logger } from '../../../src/logger.js';
import { MESSAGE_CODEC, StreamCodec, type ValueCodec } from '../../../src/rpc/codec.js';
import { type CallContext, currentCall, IncomingCall } from '../../../src/rpc/context.js';
import { RpcLink, type Wire } from '../../../src/rpc/link.js';
import { encodeNames } from '../../../src/rpc/names.js';
import { RpcServer } from '../../../src/rpc/server.js';
import {
  baseType,
  encodeCancel,
  encodeProbe,
  encodeRequest,
  frameBytes,
  type OutgoingFrame,
  readLoad,
  replyLayout,
} from '../../../src/rpc/wire.js';
import { MessageType } from '../../../src/transport/message-types.js';
import { requestFrame } from '../../helpers/frames.js';

const SELF = 'server@127.0.0.1';
const CALLER = 'caller@127.0.0.1';

interface SentReply {
  type: number;
  id: number;
  value: unknown;
  trailer?: unknown;
  load?: { inFlight: number; elu: number };
}

/** A connection stand-in: decodes the replies the server sends, as the caller would (in order). */
class FakeWire implements Wire {
  sendLimit = 1 << 20;
  closed = false;
  readonly replies: SentReply[] = [];
  readonly other: SentReply[] = [];
  readonly waiters: (() => void)[] = [];
  /** The caller's end of the codec: encodes its requests, decodes the replies. */
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
    const payload = frameBytes(frame).subarray(4);
    const type = baseType(payload[0] as number);
    if (type !== MessageType.ReplyOk && type !== MessageType.ReplyError) {
      this.other.push({ type, id: payload.readUInt32BE(1), value: payload });
      return;
    }
    const layout = replyLayout(payload);
    assert.ok(layout);
    const reply: SentReply = { type, id: payload.readUInt32BE(1), value: undefined };
    if (layout.loadAt >= 0) reply.load = readLoad(payload, layout.loadAt);
    if (layout.envelopeEnd > 0) {
      reply.trailer = this.remote.decode(payload, layout.envelopeStart, layout.envelopeEnd);
    }
    reply.value = this.remote.decode(payload, layout.bodyAt, payload.length);
    this.replies.push(reply);
    for (const wake of this.waiters.splice(0)) wake();
  }
  /** Resolves with the reply to `id` once it is sent. */
  async reply(id: number): Promise<SentReply> {
    for (;;) {
      const found = this.replies.find((r) => r.id === id);
      if (found) return found;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}

function setup(logger?: Logger, protocol = 1) {
  const lines: string[] = [];
  const server = new RpcServer({
    selfName: SELF,
    logger: logger ?? {
      debug: (m) => lines.push(m),
      info: () => {},
      warn: (m) => lines.push(m),
      error: (m) => lines.push(m),
    },
    exposeErrorStacks: true,
  });
  const conn = new FakeWire(CALLER, protocol);
  const link = conn.link;
  let nextId = 1;
  /** Delivers a CALL frame as the connection would; returns its id. */
  const call = (
    module: string,
    fn: string,
    args: unknown,
    timeoutMs = 5_000,
    id = nextId++,
    meta?: Record<string, unknown>,
  ) => {
    const names = encodeNames(module, fn) as Buffer;
    const envelope = meta === undefined ? undefined : conn.remote.encode(meta, 0);
    const frame = encodeRequest(conn.remote, id, timeoutMs, names, args, envelope);
    assert.equal(server.onRequest(link, frameBytes(frame).subarray(4)), true);
    return id;
  };
  return { server, conn, link, call, lines };
}

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

describe('RpcServer', () => {
  test('runs exposed handlers (sync and async) and replies OK with the result', async () => {
    const { server, conn, call } = setup();
    server.expose('M', {
      sync: (a: number, b: number) => a + b,
      async: async (s: string) => s.repeat(2),
    });
    const a = call('M', 'sync', [2, 3]);
    const b = call('M', 'async', ['ab']);
    assert.deepEqual(await conn.reply(a), { type: MessageType.ReplyOk, id: a, value: 5 });
    assert.equal((await conn.reply(b)).value, 'abab');
  });

  test('only exposed functions are reachable', async () => {
    const { server, conn, call } = setup();
    server.expose('M', { f: () => 1 });
    const names: [string, string][] = [
      ['M', 'constructor'],
      ['M', '__proto__'],
      ['M', 'hasOwnProperty'],
      ['constructor', 'f'],
      ['__proto__', 'f'],
      ['Nope', 'f'],
    ];
    for (const [module, fn] of names) {
      const reply = await conn.reply(call(module, fn, []));
      assert.equal(reply.type, MessageType.ReplyError);
      assert.equal((reply.value as WireError).code, 'not_found', `${module}.${fn}`);
      assert.equal((reply.value as WireError).notExecuted, true);
    }
  });

  test('handlers see their call context, also after await', async () => {
    const { server, conn, call } = setup();
    let seen: CallContext | undefined;
    server.expose('Ctx', {
      read: async () => {
        await new Promise((resolve) => setImmediate(resolve));
        seen = currentCall();
        return seen?.caller;
      },
    });
    const before = Date.now();
    const id = call('Ctx', 'read', [], 7_000);
    assert.equal((await conn.reply(id)).value, CALLER);
    assert.equal(seen?.module, 'Ctx');
    assert.equal(seen?.function, 'read');
    assert.ok(
      (seen?.deadline ?? 0) >= before + 7_000 && (seen?.deadline ?? 0) <= Date.now() + 7_000,
    );
    assert.equal(currentCall(), undefined, 'no context outside a handler');
  });

  test('CANCEL aborts the handler’s signal', async () => {
    const { server, conn, link, call } = setup();
    const aborted = deferred();
    let reason: unknown;
    server.expose('M', {
      wait: () =>
        new Promise((_, reject) => {
          const signal = currentCall()?.signal as AbortSignal;
          signal.addEventListener('abort', () => {
            reason = signal.reason;
            aborted.resolve();
            reject(signal.reason);
          });
        }),
    });
    const id = call('M', 'wait', []);
    server.onCancel(link, encodeCancel(id).subarray(4));
    await aborted.promise;
    assert.ok(reason instanceof RpcError);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(server.inFlight, 0);
    assert.equal(conn.replies.length, 0, 'nobody waits for the reply of a cancelled call');
  });

  test('a dropped caller aborts every handler it was waiting on', async () => {
    const { server, link, call } = setup();
    const signals: AbortSignal[] = [];
    const never = new Promise(() => {});
    server.expose('M', {
      wait: () => {
        signals.push(currentCall()?.signal as AbortSignal);
        return never;
      },
    });
    call('M', 'wait', []);
    call('M', 'wait', []);
    server.onConnectionClosed(link);
    assert.equal(signals.length, 2);
    for (const s of signals) {
      assert.ok(s.aborted);
      assert.equal((s.reason as RpcError).code, 'service_unavailable');
    }
  });

  test('a handler’s signal aborts at its deadline', async () => {
    const { server, call } = setup();
    const aborted = deferred();
    server.expose('M', {
      wait: () => {
        const signal = currentCall()?.signal as AbortSignal;
        signal.addEventListener('abort', () => aborted.resolve());
        return new Promise(() => {});
      },
    });
    const started = Date.now();
    call('M', 'wait', [], 40);
    // The deadline timer is unref'd (a node's listener keeps the process alive); hold it open.
    const keepAlive = setTimeout(() => {}, 5_000);
    await aborted.promise;
    clearTimeout(keepAlive);
    assert.ok(Date.now() - started >= 35);
  });

  test('after its deadline a handler’s error is not sent: the caller reports its own timeout', async () => {
    const { server, conn, call } = setup();
    const failed = deferred();
    server.expose('M', {
      wait: () =>
        new Promise((_, reject) => {
          const signal = currentCall()?.signal as AbortSignal;
          signal.addEventListener('abort', () => {
            reject(signal.reason);
            setImmediate(failed.resolve);
          });
        }),
    });
    const keepAlive = setTimeout(() => {}, 5_000);
    const id = call('M', 'wait', [], 30);
    await failed.promise;
    clearTimeout(keepAlive);
    assert.equal(server.inFlight, 0);
    assert.equal(
      conn.replies.find((r) => r.id === id),
      undefined,
      'a remote "deadline passed" error would race the caller’s own request_timeout',
    );
  });

  test('draining refuses new calls (not executed) and waitIdle waits for the running ones', async () => {
    const { server, conn, call } = setup();
    const release = deferred();
    let ran = 0;
    server.expose('M', {
      slow: async () => {
        ran++;
        await release.promise;
        return 'done';
      },
    });
    const running = call('M', 'slow', []);
    assert.equal(server.inFlight, 1);
    server.startDraining();
    const refused = await conn.reply(call('M', 'slow', []));
    const err = refused.value as WireError;
    assert.equal(err.code, 'service_unavailable');
    assert.equal(err.details?.reason, 'draining');
    assert.equal(err.notExecuted, true);
    assert.equal(ran, 1);
    assert.equal(await server.waitIdle(20), false, 'times out while a call runs');
    const idle = server.waitIdle(5_000);
    release.resolve();
    assert.equal(await idle, true);
    assert.equal((await conn.reply(running)).value, 'done');
  });

  test('the in-flight count returns to zero after throws, rejections and casts', async () => {
    const { server, conn, link, call } = setup();
    server.expose('M', {
      throwSync: () => {
        throw new Error('sync');
      },
      reject: async () => Promise.reject(new Error('async')),
      ok: () => 1,
    });
    const ids = [call('M', 'throwSync', []), call('M', 'reject', []), call('M', 'ok', [])];
    const cast = requestFrame(0, 0, 'M', 'throwSync', []);
    server.onRequest(link, frameBytes(cast).subarray(4));
    for (const id of ids) await conn.reply(id);
    assert.equal(server.inFlight, 0);
    assert.equal(conn.replies.length, 3, 'a cast is never answered');
  });

  test('a malformed request frame is refused and logged', () => {
    const { server, link, lines } = setup();
    assert.equal(server.onRequest(link, Buffer.from([MessageType.Call, 0, 0])), false);
    assert.match(lines.join('\n'), /malformed CALL frame from caller@127\.0\.0\.1/);
  });

  test('expose validates its input', () => {
    const { server } = setup();
    assert.throws(() => server.expose('', {}), TypeError);
    assert.throws(() => server.expose('M', { f: 1 as unknown as () => void }), TypeError);
    assert.throws(
      () => server.expose('M', null as unknown as Record<string, () => void>),
      TypeError,
    );
    assert.throws(() => server.expose('M', { ['x'.repeat(256)]: () => 1 }), TypeError);
  });
});

describe('IncomingCall', () => {
  test('an abort before the signal is read shows when it is read', () => {
    const record = new IncomingCall(CALLER, 'M', 'f', Date.now() + 60_000);
    record.abort('why');
    assert.ok(record.signal.aborted);
    assert.equal(record.signal.reason, 'why');
  });

  test('abort is idempotent: the first reason wins', () => {
    const record = new IncomingCall(CALLER, 'M', 'f', Date.now() + 60_000);
    const signal = record.signal;
    record.abort('first');
    record.abort('second');
    assert.equal(signal.reason, 'first');
  });

  test('a finished call never aborts at its deadline', async () => {
    const record = new IncomingCall(CALLER, 'M', 'f', Date.now() + 10);
    const signal = record.signal;
    record.finish();
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(signal.aborted, false);
  });

  test('a cast (infinite deadline) has a signal that does not abort by itself', () => {
    const record = new IncomingCall(CALLER, 'M', 'f', Number.POSITIVE_INFINITY);
    assert.equal(record.signal.aborted, false);
    assert.equal(record.function, 'f');
  });
});

describe('RpcServer: protocol 2 and the envelope', () => {
  test('the handler reads the caller’s metadata (frozen); without it, an empty object', async () => {
    const { server, conn, call } = setup(undefined, 2);
    server.expose('M', {
      meta: () => {
        const meta = currentCall()?.meta ?? {};
        return { meta: { ...meta }, frozen: Object.isFrozen(meta) };
      },
    });
    const id = call('M', 'meta', [], 5_000, undefined, { tenant: 'acme', n: 1n });
    assert.deepEqual((await conn.reply(id)).value, {
      meta: { tenant: 'acme', n: 1n },
      frozen: true,
    });
    assert.deepEqual((await conn.reply(call('M', 'meta', []))).value, { meta: {}, frozen: true });
  });

  test('a trailer set by the handler travels with the reply, on success and on error', async () => {
    const { server, conn, call } = setup(undefined, 2);
    server.expose('M', {
      ok: () => {
        currentCall()?.setTrailer('servedBy', SELF);
        currentCall()?.setTrailer('cost', 3);
        return 'value';
      },
      fail: async () => {
        currentCall()?.setTrailer('why', 'bad luck');
        throw new Error('nope');
      },
    });
    const ok = await conn.reply(call('M', 'ok', []));
    assert.deepEqual([ok.value, ok.trailer], ['value', { servedBy: SELF, cost: 3 }]);
    const failed = await conn.reply(call('M', 'fail', []));
    assert.equal(failed.type, MessageType.ReplyError);
    assert.deepEqual(failed.trailer, { why: 'bad luck' });
  });

  test('on protocol 1 a trailer is dropped (the caller could not read it)', async () => {
    const { server, conn, call } = setup(undefined, 1);
    server.expose('M', {
      ok: () => {
        currentCall()?.setTrailer('a', 1);
        return 'v';
      },
    });
    const reply = await conn.reply(call('M', 'ok', []));
    assert.deepEqual([reply.value, reply.trailer, reply.load], ['v', undefined, undefined]);
  });

  test('setTrailer refuses what breaks the limits with bad_request', () => {
    const ctx = new IncomingCall(CALLER, 'M', 'f', Date.now() + 1_000);
    ctx.id = 1;
    for (let i = 0; i < 64; i++) ctx.setTrailer(`k${i}`, i);
    assert.throws(
      () => ctx.setTrailer('k64', 1),
      (e: RpcError) => e.code === 'bad_request',
    );
    const big = new IncomingCall(CALLER, 'M', 'f', Date.now() + 1_000);
    big.id = 1;
    assert.throws(() => big.setTrailer('x', 'y'.repeat(17_000)), /more than 16384 bytes/);
    assert.throws(() => big.setTrailer('f', () => 1), /cannot be encoded/);
    assert.throws(() => big.setTrailer('', 1), /1 to 255 bytes/);
    big.setTrailer('fine', 'z'.repeat(10_000));
    assert.deepEqual(Object.keys(big.trailer ?? {}), ['fine']);
  });

  test('the first reply of each load sample period carries the server’s load', async () => {
    const { server, conn, call } = setup(undefined, 2);
    server.expose('M', { f: () => 1 });
    const first = await conn.reply(call('M', 'f', []));
    assert.ok(first.load, 'the first reply on a connection carries the load');
    assert.equal(first.load.inFlight, 0, 'the finished call no longer counts');
    const second = await conn.reply(call('M', 'f', []));
    assert.equal(second.load, undefined, 'not again within the same period');
  });

  test('a probe is answered with the load, no handler involved', () => {
    const { server, conn, link } = setup(undefined, 2);
    server.onProbe(link, encodeProbe(9).subarray(4));
    const [answer] = conn.other;
    assert.equal(answer?.type, MessageType.ProbeReply);
    assert.equal(answer?.id, 9);
    assert.equal(readLoad(answer?.value as Buffer, 5).inFlight, 0);
  });

  test('metadata that breaks the limits is refused with bad_request (not executed)', async () => {
    const { server, conn, call } = setup(undefined, 2);
    let ran = 0;
    server.expose('M', { f: () => ++ran });
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i]));
    const reply = await conn.reply(call('M', 'f', [], 5_000, undefined, many));
    assert.equal((reply.value as WireError).code, 'bad_request');
    assert.equal((reply.value as WireError).details?.reason, 'bad_meta');
    assert.equal(ran, 0);
  });

  test('on protocol 2 an undecodable request closes the connection; on protocol 1 it is a bad_request', async () => {
    for (const protocol of [1, 2]) {
      const { server, conn, link } = setup(undefined, protocol);
      server.expose('M', { f: () => 1 });
      const frame = requestFrame(1, 100, 'M', 'f', Buffer.from([0x92, 0x01]));
      const ok = server.onRequest(link, frameBytes(frame).subarray(4));
      if (protocol === 2) assert.equal(ok, false);
      else {
        assert.equal(ok, true);
        assert.equal(((await conn.reply(1)).value as WireError).code, 'bad_request');
      }
    }
  });

  test('a refused call’s arguments are still decoded, so the codec stays in step', async () => {
    const { server, conn, call } = setup(undefined, 2);
    server.expose('M', { f: (o: unknown) => o });
    // a not_found call introduces a shape the next call refers to
    await conn.reply(call('Nope', 'f', [{ shape: 1, again: 2 }]));
    assert.deepEqual((await conn.reply(call('M', 'f', [{ shape: 3, again: 4 }]))).value, {
      shape: 3,
      again: 4,
    });
  });

  test('a handler that throws a non-Error value: its text and code reach the caller, no stack', async () => {
    const { server, conn, call } = setup();
    server.expose('M', {
      obj: () => {
        throw { code: 'E_X', detail: 42 };
      },
      str: async () => Promise.reject('plain text'),
    });
    const obj = (await conn.reply(call('M', 'obj', []))).value as WireError;
    assert.equal(obj.code, 'internal_server_error');
    assert.equal(obj.details?.remote?.name, 'NonError');
    assert.equal(obj.details?.remote?.code, 'E_X');
    assert.equal(obj.details?.remote?.message, '{"code":"E_X","detail":42}');
    assert.equal(obj.details?.remote?.stack, undefined);
    assert.match(obj.message, /M\.obj threw a non-Error value: \{"code":"E_X"/);
    const str = (await conn.reply(call('M', 'str', []))).value as WireError;
    assert.equal(str.details?.remote?.message, 'plain text');
  });

  test('a cast that arrives while draining still runs (it could not be refused)', async () => {
    const { server, link } = setup();
    const ran: string[] = [];
    server.expose('M', { record: (v: string) => void ran.push(v) });
    server.startDraining();
    const cast = requestFrame(0, 0, 'M', 'record', ['late']);
    server.onRequest(link, frameBytes(cast).subarray(4));
    assert.deepEqual(ran, ['late']);
  });
});
