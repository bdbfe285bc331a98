/**
 * The RPC server against fake connections (no network): dispatch to exposed functions only,
 * the call context, cancellation and dropped callers aborting the handler's signal, draining,
 * and the in-flight count that graceful close waits on.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RpcError, type WireError } from '../../../src/errors.js';
import type { Logger } from '../../../src/logger.js';
import { decodeValue } from '../../../src/rpc/codec.js';
import { type CallContext, CallRecord, currentCall } from '../../../src/rpc/context.js';
import { RpcServer } from '../../../src/rpc/server.js';
import { encodeCancel, frameBytes, type OutgoingFrame } from '../../../src/rpc/wire.js';
import type { Connection } from '../../../src/transport/connection.js';
import { MessageType } from '../../../src/transport/message-types.js';
import { requestFrame } from '../../helpers/frames.js';

const SELF = 'server@127.0.0.1';
const CALLER = 'caller@127.0.0.1';

class FakeConn {
  sendLimit = 1 << 20;
  readonly replies: { type: number; id: number; value: unknown }[] = [];
  readonly waiters: (() => void)[] = [];
  constructor(readonly peerName: string) {}
  push(frame: OutgoingFrame): void {
    const bytes = frameBytes(frame);
    this.replies.push({
      type: bytes[4] as number,
      id: bytes.readUInt32BE(5),
      value: decodeValue(bytes.subarray(9)),
    });
    for (const wake of this.waiters.splice(0)) wake();
  }
  /** Resolves with the reply to `id` once it is sent. */
  async reply(id: number): Promise<{ type: number; value: unknown }> {
    for (;;) {
      const found = this.replies.find((r) => r.id === id);
      if (found) return found;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}

function setup(logger?: Logger) {
  const lines: string[] = [];
  const server = new RpcServer({
    selfName: SELF,
    logger: logger ?? {
      debug: () => {},
      info: () => {},
      warn: (m) => lines.push(m),
      error: (m) => lines.push(m),
    },
    exposeErrorStacks: true,
    send: (conn, frame) => (conn as unknown as FakeConn).push(frame),
  });
  const conn = new FakeConn(CALLER);
  const asConn = conn as unknown as Connection;
  let nextId = 1;
  /** Delivers a CALL frame as the connection would; returns its id. */
  const call = (module: string, fn: string, args: unknown, timeoutMs = 5_000, id = nextId++) => {
    const frame = requestFrame(id, timeoutMs, module, fn, args as unknown[]);
    const bytes = frameBytes(frame);
    assert.equal(server.onRequest(asConn, bytes.subarray(4)), true);
    return id;
  };
  return { server, conn, asConn, call, lines };
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
    const { server, conn, asConn, call } = setup();
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
    server.onCancel(asConn, encodeCancel(id).subarray(4));
    await aborted.promise;
    assert.ok(reason instanceof RpcError);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(server.inFlight, 0);
    assert.equal(conn.replies.length, 0, 'nobody waits for the reply of a cancelled call');
  });

  test('a dropped caller aborts every handler it was waiting on', async () => {
    const { server, asConn, call } = setup();
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
    server.onConnectionClosed(asConn);
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
    const { server, conn, asConn, call } = setup();
    server.expose('M', {
      throwSync: () => {
        throw new Error('sync');
      },
      reject: async () => Promise.reject(new Error('async')),
      ok: () => 1,
    });
    const ids = [call('M', 'throwSync', []), call('M', 'reject', []), call('M', 'ok', [])];
    const cast = requestFrame(0, 0, 'M', 'throwSync', []);
    server.onRequest(asConn, frameBytes(cast).subarray(4));
    for (const id of ids) await conn.reply(id);
    assert.equal(server.inFlight, 0);
    assert.equal(conn.replies.length, 3, 'a cast is never answered');
  });

  test('a malformed request frame is refused and logged', () => {
    const { server, asConn, lines } = setup();
    assert.equal(server.onRequest(asConn, Buffer.from([MessageType.Call, 0, 0])), false);
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

describe('CallRecord', () => {
  test('an abort before the signal is read shows when it is read', () => {
    const record = new CallRecord(CALLER, 'M', 'f', Date.now() + 60_000);
    record.abort('why');
    assert.ok(record.signal.aborted);
    assert.equal(record.signal.reason, 'why');
  });

  test('abort is idempotent: the first reason wins', () => {
    const record = new CallRecord(CALLER, 'M', 'f', Date.now() + 60_000);
    const signal = record.signal;
    record.abort('first');
    record.abort('second');
    assert.equal(signal.reason, 'first');
  });

  test('a finished call never aborts at its deadline', async () => {
    const record = new CallRecord(CALLER, 'M', 'f', Date.now() + 10);
    const signal = record.signal;
    record.finish();
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(signal.aborted, false);
  });

  test('a cast (infinite deadline) has a signal that does not abort by itself', () => {
    const record = new CallRecord(CALLER, 'M', 'f', Number.POSITIVE_INFINITY);
    assert.equal(record.signal.aborted, false);
    assert.equal(record.function, 'f');
  });
});
