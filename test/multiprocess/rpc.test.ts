/**
 * Calls and casts between real node processes on 127.0.0.1: both directions, exact round-trip
 * of rich values, every error code with its status and target node, aborts, timeouts and the
 * handler's call context.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  Cluster,
  COOKIE,
  type RemoteFailure,
  RequestFailed,
  type Worker,
} from '../helpers/cluster.js';
import { RawPeer } from '../helpers/raw-peer.js';

const cluster = new Cluster({ after });
let a: Worker;
let b: Worker;

before(async () => {
  [a, b] = await Promise.all([
    cluster.spawn({ name: 'rpc-a@127.0.0.1' }),
    cluster.spawn({ name: 'rpc-b@127.0.0.1' }),
  ]);
  assert.equal(await b.request('connect', a.address), a.name);
  await a.waitForEvent((e) => e.event === 'nodeup' && e.peer === b.name);
});

/** Awaits a request that must fail with an RpcError of `code`/`status` naming `node`. */
async function failsWith(
  request: Promise<unknown>,
  code: string,
  status: number,
  node: string,
): Promise<RemoteFailure> {
  const err = await request.then(
    (value) => assert.fail(`expected ${code}, got ${JSON.stringify(value)}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RequestFailed, `not an RpcError: ${String(err)}`);
  const f = err.failure;
  assert.equal(f.name, 'RpcError', f.message);
  assert.equal(f.code, code, f.message);
  assert.equal(f.statusCode, status);
  assert.equal(f.details?.node, node);
  return f;
}

/** Rich values that must round-trip exactly (deep-strict-equal, same types). */
const richValues: [string, unknown][] = [
  ['json', { s: 'héllo 🌍', n: -1.5, i: 2 ** 40, t: true, f: false, z: null, a: [1, 'x', {}] }],
  ['undefined', undefined],
  ['undefined inside', { u: undefined, list: [undefined, 1] }],
  ['date', new Date(1_700_000_000_123)],
  [
    'map',
    new Map<unknown, unknown>([
      ['k', 1],
      [2, 'two'],
      [null, [3]],
    ]),
  ],
  ['set', new Set([1, 'a', null])],
  ['small bigint', 42n],
  ['negative bigint', -42n],
  ['bigint > 64 bit', 2n ** 100n + 1n],
  ['negative bigint > 64 bit', -(2n ** 80n)],
  ['uint8array', new Uint8Array([0, 1, 2, 254, 255])],
  ['empty containers', [[], {}, new Map(), new Set(), new Uint8Array(0), '']],
  [
    'nested mix',
    {
      when: new Date(0),
      index: new Map<unknown, unknown>([
        [1n, new Set([new Date(1), 2n ** 65n, new Uint8Array([7])])],
        ['deep', { list: [new Map([['x', undefined]]), null, -(2n ** 70n)] }],
      ]),
      tags: new Set([new Map([[{ key: 'object' }, [new Date(2)]]])]),
    },
  ],
];

describe('calls and casts', () => {
  test('call both ways', async () => {
    assert.equal(await a.request('call', b.name, 'Test', 'upcase', ['hi']), 'HI');
    assert.equal(await b.request('call', a.name, 'Test', 'upcase', ['there']), 'THERE');
    assert.equal(await a.request('call', b.name, 'Test', 'whoami', []), b.name);
    assert.equal(await b.request('call', a.name, 'Test', 'whoami', []), a.name);
  });

  test('a node can call itself with the same semantics', async () => {
    assert.equal(await a.request('call', a.name, 'Test', 'whoami', []), a.name);
    const value = richValues[richValues.length - 1]?.[1];
    assert.deepStrictEqual(await a.request('call', a.name, 'Test', 'echo', [value]), value);
  });

  for (const [what, value] of richValues) {
    test(`${what} round-trips exactly, both ways`, async () => {
      const [there, back] = await Promise.all([
        a.request('call', b.name, 'Test', 'echo', [value]),
        b.request('call', a.name, 'Test', 'echo', [value]),
      ]);
      assert.deepStrictEqual(there, value);
      assert.deepStrictEqual(back, value);
    });
  }

  test('a Buffer comes back with the same bytes', async () => {
    const buf = Buffer.from('buffer bytes \u00ff');
    const out = await a.request<Uint8Array>('call', b.name, 'Test', 'echo', [{ buf }]);
    const got = (out as unknown as { buf: Uint8Array }).buf;
    assert.ok(got instanceof Uint8Array);
    assert.deepEqual(Buffer.from(got), buf);
  });

  test('a large value (1 MiB) round-trips', async () => {
    const bytes = new Uint8Array(2 ** 20).map((_, i) => i % 251);
    const out = await a.request<Uint8Array>('call', b.name, 'Test', 'echo', [bytes]);
    assert.deepStrictEqual(out, bytes);
  });

  test('8 MiB both ways at once (backpressure, large frames)', async () => {
    const big = new Uint8Array(8 * 2 ** 20).map((_, i) => (i * 31) % 256);
    const [there, back] = await Promise.all([
      a.request('call', b.name, 'Test', 'echo', [big], { timeout: 30_000 }),
      b.request('call', a.name, 'Test', 'echo', [big], { timeout: 30_000 }),
    ]);
    assert.ok(Buffer.from(big).equals(there as Uint8Array));
    assert.ok(Buffer.from(big).equals(back as Uint8Array));
  });

  test('600 concurrent calls of mixed sizes, both ways, all come back exact', async () => {
    const [fromA, fromB] = await Promise.all([
      a.request('echoStress', b.name, 300, 1),
      b.request('echoStress', a.name, 300, 2),
    ]);
    assert.equal(fromA, 0);
    assert.equal(fromB, 0);
  });

  test('frames split by TCP anywhere, even right after the length header, are read correctly', async (t) => {
    const peer = await RawPeer.connect(a.address);
    t.after(() => peer.destroy());
    await peer.handshake({ name: 'zz-split@127.0.0.1', cookie: COOKIE });
    for (const cuts of [[4], [2], [4, 5], [1, 2, 3, 4], [4, 20], [30]]) {
      const { id, bytes } = peer.callFrame('Test', 'echo', [{ cuts, pad: 'x'.repeat(40) }]);
      await peer.sendInPieces(bytes, cuts);
      assert.deepEqual(await peer.reply(id), { ok: true, value: { cuts, pad: 'x'.repeat(40) } });
    }
    // Two frames with the boundary inside the second one's header.
    const first = peer.callFrame('Test', 'upcase', ['one']);
    const second = peer.callFrame('Test', 'upcase', ['two']);
    await peer.sendInPieces(Buffer.concat([first.bytes, second.bytes]), [first.bytes.length + 2]);
    assert.equal((await peer.reply(first.id)).value, 'ONE');
    assert.equal((await peer.reply(second.id)).value, 'TWO');
  });

  test('casts arrive both ways with their values', async () => {
    const toB = { id: 'cast-to-b', when: new Date(3), big: 2n ** 90n, set: new Set([1]) };
    const toA = { id: 'cast-to-a', map: new Map([['k', new Uint8Array([1, 2])]]), u: undefined };
    assert.equal(await a.request('cast', b.name, 'Test', 'record', [toB]), undefined);
    assert.equal(await b.request('cast', a.name, 'Test', 'record', [toA]), undefined);
    const atB = await b.waitForEvent(
      (e) => e.event === 'cast' && (e.value as { id?: string })?.id === toB.id,
    );
    const atA = await a.waitForEvent(
      (e) => e.event === 'cast' && (e.value as { id?: string })?.id === toA.id,
    );
    assert.deepStrictEqual(atB.value, toB);
    assert.deepStrictEqual(atA.value, toA);
  });

  test('a cast to the node itself runs locally', async () => {
    await a.request('cast', a.name, 'Test', 'record', [{ id: 'self-cast', at: new Date(9) }]);
    const seen = await a.waitForEvent(
      (e) => e.event === 'cast' && (e.value as { id?: string })?.id === 'self-cast',
    );
    assert.deepStrictEqual(seen.value, { id: 'self-cast', at: new Date(9) });
  });

  test('casts keep their order', async () => {
    for (let i = 0; i < 20; i++) await a.request('cast', b.name, 'Test', 'record', [{ seq: i }]);
    await b.waitForEvent((e) => e.event === 'cast' && (e.value as { seq?: number })?.seq === 19);
    const seqs = b.events
      .filter((e) => e.event === 'cast' && typeof (e.value as { seq?: number })?.seq === 'number')
      .map((e) => (e.value as { seq: number }).seq);
    assert.deepEqual(
      seqs,
      Array.from({ length: 20 }, (_, i) => i),
    );
  });

  test('a cast to a node that is not connected rejects with service_unavailable', async () => {
    const ghost = 'ghost@127.0.0.1';
    const f = await failsWith(
      a.request('cast', ghost, 'Test', 'record', [1]),
      'service_unavailable',
      503,
      ghost,
    );
    assert.equal(f.details?.reason, 'not_connected');
  });

  test('a cast with bad input rejects with bad_request', async () => {
    await failsWith(
      a.request('cast', 'not a name', 'Test', 'record', [1]),
      'bad_request',
      400,
      'not a name',
    );
    await failsWith(a.request('castWithFunctionArg', b.name), 'bad_request', 400, b.name);
  });
});

describe('errors', () => {
  test('request_timeout (408) after the call’s timeout; the handler sees its signal abort', async () => {
    const started = Date.now();
    const f = await failsWith(
      a.request('call', b.name, 'Test', 'sleep', [5_000], { timeout: 200 }),
      'request_timeout',
      408,
      b.name,
    );
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 190 && elapsed < 2_000, `timed out after ${elapsed} ms`);
    assert.equal(f.details?.timeoutMs, 200);
    assert.equal(f.details?.module, 'Test');
    assert.equal(f.details?.function, 'sleep');
    await b.waitForEvent((e) => e.event === 'handler-aborted' && e.ms === 5_000, 3_000);
  });

  test('service_unavailable (503) for a node that is not connected', async () => {
    const ghost = 'ghost@127.0.0.1';
    const f = await failsWith(
      a.request('call', ghost, 'Test', 'echo', [1]),
      'service_unavailable',
      503,
      ghost,
    );
    assert.equal(f.details?.reason, 'not_connected');
    assert.equal(f.notExecuted, true);
  });

  test('connect(): bad_request for a malformed address, service_unavailable when nobody listens', async () => {
    const bad = await a.request('connect', 'not an address').then(
      () => assert.fail('must fail'),
      (e: RequestFailed) => e.failure,
    );
    assert.equal(bad.code, 'bad_request');
    assert.equal(bad.statusCode, 400);
    const refused = await a.request('connect', '127.0.0.1:1').then(
      () => assert.fail('must fail'),
      (e: RequestFailed) => e.failure,
    );
    assert.equal(refused.code, 'service_unavailable');
    assert.equal(refused.statusCode, 503);
    assert.match(refused.message, /ECONNREFUSED/);
  });

  test('bad_request (400) for a bad node name', async () => {
    for (const bad of ['no-at-sign', '', 'a b@host', '@host']) {
      const f = await failsWith(
        a.request('call', bad, 'Test', 'echo', [1]),
        'bad_request',
        400,
        bad,
      );
      assert.equal(f.details?.field, 'node');
    }
  });

  test('bad_request (400) for arguments that cannot be encoded, before anything is sent', async () => {
    const fn = await failsWith(
      a.request('callWithFunctionArg', b.name),
      'bad_request',
      400,
      b.name,
    );
    assert.equal(fn.details?.reason, 'unencodable_arguments');
    assert.equal(fn.notExecuted, true);
    const sym = await failsWith(a.request('callWithSymbolArg', b.name), 'bad_request', 400, b.name);
    assert.equal(sym.details?.reason, 'unencodable_arguments');
    // Nothing reached b: its handler would have recorded a cast / echoed.
    assert.equal(await a.request('call', b.name, 'Test', 'echo', ['still fine']), 'still fine');
  });

  test('bad_request (400) for bad options', async () => {
    for (const timeout of [-1, 0, Number.NaN, 2 ** 31, 'soon']) {
      const f = await failsWith(
        a.request('call', b.name, 'Test', 'echo', [1], { timeout }),
        'bad_request',
        400,
        b.name,
      );
      assert.equal(f.details?.field, 'timeout', String(timeout));
    }
    const sig = await failsWith(a.request('callWithBadSignal', b.name), 'bad_request', 400, b.name);
    assert.equal(sig.details?.field, 'signal');
    for (const [module, fn] of [
      ['', 'echo'],
      ['Test', ''],
      ['x'.repeat(256), 'echo'],
    ]) {
      await failsWith(a.request('call', b.name, module, fn, [1]), 'bad_request', 400, b.name);
    }
  });

  test('not_found (404) for an unknown module or function', async () => {
    const mod = await failsWith(
      a.request('call', b.name, 'Nope', 'echo', [1]),
      'not_found',
      404,
      b.name,
    );
    assert.match(mod.message, /module Nope/);
    const fn = await failsWith(
      a.request('call', b.name, 'Test', 'nope', [1]),
      'not_found',
      404,
      b.name,
    );
    assert.match(fn.message, /function Test\.nope/);
    assert.equal(fn.details?.module, 'Test');
    assert.equal(fn.details?.function, 'nope');
    // Nothing but exposed functions is reachable: object internals are not functions by name.
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      await failsWith(a.request('call', b.name, 'Test', name, []), 'not_found', 404, b.name);
      await failsWith(a.request('call', b.name, name, 'echo', []), 'not_found', 404, b.name);
    }
  });

  test('internal_server_error (500) when the handler throws, with the remote name, message and stack', async () => {
    const f = await failsWith(
      a.request('call', b.name, 'Test', 'boom', ['kaput']),
      'internal_server_error',
      500,
      b.name,
    );
    const remote = f.details?.remote as { name: string; message: string; stack?: string };
    assert.equal(remote.name, 'TypeError');
    assert.equal(remote.message, 'kaput');
    assert.match(remote.stack ?? '', /TypeError: kaput\n\s+at /);
    assert.equal(f.notExecuted, false);
  });

  test('a handler that throws an RpcError keeps its code', async () => {
    const f = await failsWith(
      a.request('call', b.name, 'Test', 'rpcError', []),
      'not_found',
      404,
      b.name,
    );
    assert.equal(f.details?.reason, 'custom');
  });

  test('a result that cannot be encoded is internal_server_error', async () => {
    const f = await failsWith(
      a.request('call', b.name, 'Test', 'unencodableResult', []),
      'internal_server_error',
      500,
      b.name,
    );
    assert.equal(f.details?.reason, 'unencodable_result');
  });

  test('the call rejects with the signal’s reason when aborted; the callee’s handler sees the abort', async () => {
    const started = Date.now();
    const err = await a.request('callAbort', b.name, 'Test', 'sleep', [4_000], 150).then(
      () => assert.fail('expected an abort'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof RequestFailed);
    assert.equal(err.failure.name, 'Error', 'the signal’s reason, not an RpcError');
    assert.equal(err.failure.message, 'aborted by test');
    assert.equal(err.failure.code, undefined);
    assert.ok(Date.now() - started < 2_000);
    await b.waitForEvent((e) => e.event === 'handler-aborted' && e.ms === 4_000, 3_000);
  });

  test('an already aborted signal rejects at once with its reason', async () => {
    const err = await a.request('callPreAborted', b.name).then(
      () => assert.fail('expected an abort'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof RequestFailed);
    assert.equal(err.failure.name, 'Error');
    assert.equal(err.failure.message, 'already');
  });
});

describe('timeouts and context', () => {
  test('the default call timeout is 10 s', async () => {
    const options = await a.request<{ callTimeoutMs: number }>('resolvedOptions');
    assert.equal(options.callTimeoutMs, 10_000);
  });

  test('a call without a timeout uses the node’s callTimeoutMs', async (t) => {
    const local = new Cluster(t);
    const c = await local.spawn({ name: 'rpc-short@127.0.0.1', callTimeoutMs: 300 });
    await c.request('connect', b.address);
    const started = Date.now();
    const f = await failsWith(
      c.request('call', b.name, 'Test', 'sleep', [5_000]),
      'request_timeout',
      408,
      b.name,
    );
    assert.equal(f.details?.timeoutMs, 300);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 290 && elapsed < 2_500, `${elapsed} ms`);
  });

  test('a handler sees caller, module, function and deadline through currentCall()', async () => {
    const before = Date.now();
    const ctx = await a.request<{ caller: string; module: string; fn: string; deadline: number }>(
      'call',
      b.name,
      'RpcTest',
      'context',
      [],
      { timeout: 5_000 },
    );
    const afterCall = Date.now();
    assert.equal(ctx.caller, a.name);
    assert.equal(ctx.module, 'RpcTest');
    assert.equal(ctx.fn, 'context');
    assert.ok(
      ctx.deadline >= before + 5_000 && ctx.deadline <= afterCall + 5_000,
      `${ctx.deadline}`,
    );
    const local = await a.request<{ caller: string }>('call', a.name, 'RpcTest', 'context', []);
    assert.equal(local.caller, a.name);
  });

  test('outside a call there is no context; the Test module reads it too', async () => {
    const ctx = await b.request<{ caller: string; fn: string }>(
      'call',
      a.name,
      'Test',
      'context',
      [],
    );
    assert.equal(ctx.caller, b.name);
    assert.equal(ctx.fn, 'context');
  });
});

describe('frame size limit', () => {
  test('a message over maxFrameBytes fails with bad_request; the connection stays usable', async (t) => {
    const local = new Cluster(t);
    const small = await local.spawn({ name: 'rpc-small@127.0.0.1', maxFrameBytes: 4096 });
    await small.request('connect', b.address);
    await b.waitForEvent((e) => e.event === 'nodeup' && e.peer === small.name);
    const big = new Uint8Array(10_000);
    // The sender knows the receiver's limit from the handshake.
    const toSmall = await failsWith(
      b.request('call', small.name, 'Test', 'echo', [big]),
      'bad_request',
      400,
      small.name,
    );
    assert.equal(toSmall.details?.reason, 'frame_too_large');
    assert.equal(toSmall.notExecuted, true);
    // Its own limit, as a sender.
    const fromSmall = await failsWith(
      small.request('call', b.name, 'Test', 'echo', [big]),
      'bad_request',
      400,
      b.name,
    );
    assert.equal(fromSmall.details?.reason, 'frame_too_large');
    const cast = await failsWith(
      b.request('cast', small.name, 'Test', 'record', [big]),
      'bad_request',
      400,
      small.name,
    );
    assert.equal(cast.details?.reason, 'frame_too_large');
    // A result over the limit fails that call only.
    const result = await failsWith(
      small.request('call', b.name, 'RpcTest', 'bytes', [10_000]),
      'internal_server_error',
      500,
      b.name,
    );
    assert.equal(result.details?.reason, 'frame_too_large');
    // Just under the limit still goes through, and the connection is intact.
    const fits = new Uint8Array(3_000);
    assert.deepStrictEqual(await b.request('call', small.name, 'Test', 'echo', [fits]), fits);
    assert.ok((await small.request<string[]>('peers')).includes(b.name));
  });
});

describe('exposeErrorStacks: false', () => {
  test('the remote stack is not sent', async (t) => {
    const local = new Cluster(t);
    const quiet = await local.spawn({ name: 'rpc-quiet@127.0.0.1', exposeErrorStacks: false });
    await quiet.request('connect', a.address);
    const f = await failsWith(
      a.request('call', quiet.name, 'Test', 'boom', ['hidden']),
      'internal_server_error',
      500,
      quiet.name,
    );
    const remote = f.details?.remote as { name: string; message: string; stack?: string };
    assert.equal(remote.name, 'TypeError');
    assert.equal(remote.message, 'hidden');
    assert.equal(remote.stack, undefined);
    assert.equal('stack' in remote, false);
  });
});
