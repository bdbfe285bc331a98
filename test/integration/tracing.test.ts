/**
 * The per-call tracing channels (rpc-load-balancer:call, :attempt, :cast, :serve, :select,
 * :select:empty), with nodes in one process on real 127.0.0.1 sockets: which events fire, in
 * which order, with which fields, on success, failure, retries and aborts; metadata a
 * subscriber adds reaches the handler; nothing is published without subscribers.
 */
import assert from 'node:assert/strict';
import { channel, tracingChannel } from 'node:diagnostics_channel';
import { after, before, beforeEach, describe, test } from 'node:test';
import {
  type AttemptTrace,
  algorithms,
  type CallTrace,
  type CastTrace,
  currentCall,
  RpcError,
  type RpcNode,
  type ServeTrace,
  startNode,
  TRACING_CHANNELS,
} from '../../src/index.js';

const COOKIE = 'tracing';
const quiet = { logLevel: 'silent' as const, cookie: COOKIE };
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

type Event = { channel: string; event: string; ctx: Record<string, unknown> };

describe('tracing channels', () => {
  let a: RpcNode;
  let b: RpcNode;
  let c: RpcNode;
  const events: Event[] = [];
  const unsubscribers: (() => void)[] = [];
  const of = (name: string, event?: string) =>
    events.filter((e) => e.channel === name && (event === undefined || e.event === event));

  before(async () => {
    a = await startNode({ name: 't-a@127.0.0.1', ...quiet });
    b = await startNode({ name: 't-b@127.0.0.1', ...quiet });
    c = await startNode({ name: 't-c@127.0.0.1', ...quiet });
    for (const n of [b, c]) {
      n.expose('T', {
        echo: (x: unknown) => x,
        meta: () => ({ ...currentCall()?.meta }),
        refuse: () => {
          // says it did not run, so the balancer may try another member
          if (n === b) throw new RpcError('service_unavailable', 'busy', { notExecuted: true });
          return n.name;
        },
        slow: () => new Promise((resolve) => setTimeout(resolve, 2_000)),
        boom: () => {
          throw new Error('handler bug');
        },
      });
      await n.startLoadBalancer({ name: 'lb' });
      await a.connect(n.address);
    }
    for (const name of [
      TRACING_CHANNELS.call,
      TRACING_CHANNELS.attempt,
      TRACING_CHANNELS.cast,
      TRACING_CHANNELS.serve,
    ]) {
      const handlers = Object.fromEntries(
        ['start', 'end', 'asyncStart', 'asyncEnd', 'error'].map((event) => [
          event,
          (ctx: object) =>
            events.push({ channel: name, event, ctx: ctx as Record<string, unknown> }),
        ]),
      ) as unknown as Parameters<ReturnType<typeof tracingChannel>['subscribe']>[0];
      tracingChannel(name).subscribe(handlers);
      unsubscribers.push(() => tracingChannel(name).unsubscribe(handlers));
    }
    for (const name of [TRACING_CHANNELS.select, TRACING_CHANNELS.selectEmpty]) {
      const listener = (message: unknown) =>
        events.push({ channel: name, event: 'publish', ctx: message as Record<string, unknown> });
      channel(name).subscribe(listener);
      unsubscribers.push(() => channel(name).unsubscribe(listener));
    }
  });
  after(async () => {
    for (const stop of unsubscribers) stop();
    await Promise.all([a, b, c].map((n) => n.destroy()));
  });
  beforeEach(() => {
    events.length = 0;
  });

  test('a direct call: call start → serve start/end/asyncEnd → call asyncEnd, with the documented fields', async () => {
    assert.equal(await a.call(b.name, 'T', 'echo', [1]), 1);
    const order = events.map((e) => `${e.channel.split(':').slice(1).join(':')}.${e.event}`);
    assert.deepEqual(order, [
      'call.start',
      'call.end',
      'serve.start',
      'serve.end',
      'serve.asyncStart',
      'serve.asyncEnd',
      'call.asyncStart',
      'call.asyncEnd',
    ]);
    const call = of(TRACING_CHANNELS.call, 'start')[0]?.ctx as unknown as CallTrace;
    assert.deepEqual(
      {
        node: call.node,
        target: call.target,
        module: call.module,
        fn: call.function,
        balancer: call.balancer,
        attempts: call.attempts,
        result: call.result,
      },
      {
        node: a.name,
        target: b.name,
        module: 'T',
        fn: 'echo',
        balancer: undefined,
        attempts: 1,
        result: 1,
      },
    );
    const serve = of(TRACING_CHANNELS.serve, 'start')[0]?.ctx as unknown as ServeTrace;
    assert.deepEqual(
      { node: serve.node, caller: serve.caller, isCast: serve.isCast, result: serve.result },
      { node: b.name, caller: a.name, isCast: false, result: 1 },
    );
  });

  test('metadata a start subscriber adds (trace context) reaches the handler', async () => {
    const inject = (ctx: unknown) => {
      (ctx as CallTrace).meta.traceparent = TRACEPARENT;
    };
    channel(`tracing:${TRACING_CHANNELS.call}:start`).subscribe(inject);
    try {
      const meta = await a.call(b.name, 'T', 'meta', [], { meta: { tenant: 'x' } });
      assert.deepEqual(meta, { tenant: 'x', traceparent: TRACEPARENT });
      const serve = of(TRACING_CHANNELS.serve, 'start')[0]?.ctx as unknown as ServeTrace;
      assert.equal(serve.meta.traceparent, TRACEPARENT);
    } finally {
      channel(`tracing:${TRACING_CHANNELS.call}:start`).unsubscribe(inject);
    }
  });

  test('a failed call publishes error with the RpcError and its code, on both sides', async () => {
    await assert.rejects(a.call(b.name, 'T', 'boom', []), { code: 'internal_server_error' });
    const callError = of(TRACING_CHANNELS.call, 'error')[0]?.ctx as unknown as CallTrace;
    assert.ok(callError.error instanceof RpcError);
    assert.equal(callError.code, 'internal_server_error');
    const serveError = of(TRACING_CHANNELS.serve, 'error')[0]?.ctx as unknown as ServeTrace;
    assert.equal(serveError.code, 'internal_server_error');
    await assert.rejects(a.call(b.name, 'T', 'missing', []), { code: 'not_found' });
    const refused = of(TRACING_CHANNELS.serve, 'error').at(-1)?.ctx as unknown as ServeTrace;
    assert.equal(refused.code, 'not_found');
    assert.equal(of(TRACING_CHANNELS.serve, 'start').length, 2, 'a refused call is traced too');
  });

  test('a retried balanced call: one call trace, two attempts, selections published', async () => {
    // RoundRobin alternates, so every other call hits b first and is retried on c
    const lb = await a.startLoadBalancer({
      name: 'lb',
      nodeMatchList: [],
      selectionAlgorithm: algorithms.RoundRobin,
    });
    try {
      await lb.waitForMembers(2, { timeout: 5_000 });
      for (let i = 0; i < 20; i++) {
        events.length = 0;
        assert.equal(await lb.call('T', 'refuse', []), c.name);
        if (of(TRACING_CHANNELS.attempt, 'start').length === 2) break;
      }
      const calls = of(TRACING_CHANNELS.call, 'start');
      assert.equal(calls.length, 1, 'one call trace for both attempts');
      const call = calls[0]?.ctx as unknown as CallTrace;
      assert.equal(call.balancer, 'lb');
      assert.equal(call.attempts, 2);
      assert.equal(call.target, c.name);
      const attempts = of(TRACING_CHANNELS.attempt, 'asyncEnd').map(
        (e) => e.ctx as unknown as AttemptTrace,
      );
      assert.deepEqual(
        attempts.map((t) => [t.attempt, t.target, t.code, t.call === call]),
        [
          [1, b.name, 'service_unavailable', true],
          [2, c.name, undefined, true],
        ],
      );
      assert.ok(attempts.every((t) => typeof t.latencyMs === 'number'));
      assert.equal(of(TRACING_CHANNELS.attempt, 'error').length, 1);
      const selections = of(TRACING_CHANNELS.select).map((e) => e.ctx);
      assert.ok(selections.length >= 2);
      assert.deepEqual(Object.keys(selections[0] ?? {}).sort(), [
        'algorithm',
        'balancer',
        'members',
        'node',
        'selected',
      ]);
      assert.equal(selections[0]?.algorithm, 'RoundRobin');
      assert.equal(selections[0]?.members, 2);
    } finally {
      await lb.stop();
    }
  });

  test('a retried balanced call: call, selection and attempt events in the documented order', async () => {
    const lb = await a.startLoadBalancer({
      name: 'lb',
      nodeMatchList: [],
      selectionAlgorithm: algorithms.RoundRobin,
    });
    try {
      await lb.waitForMembers(2, { timeout: 5_000 });
      let order: string[] = [];
      for (let i = 0; i < 20; i++) {
        events.length = 0;
        await lb.call('T', 'refuse', []);
        order = events
          .filter((e) => !e.channel.endsWith(':serve'))
          .map((e) => {
            const what = `${e.channel.split(':').slice(1).join(':')}.${e.event}`;
            const attempt = (e.ctx as unknown as AttemptTrace).attempt;
            return e.channel === TRACING_CHANNELS.attempt ? `${what}#${attempt}` : what;
          });
        if (order.includes('attempt.start#2')) break;
      }
      // A retry passes over a member that already refused: it may select more than once.
      order = order.filter((e, i) => !(e === 'select.publish' && order[i - 1] === e));
      assert.deepEqual(order, [
        'call.start',
        'call.end',
        'select.publish',
        'attempt.start#1',
        'attempt.end#1',
        'attempt.error#1',
        'attempt.asyncStart#1',
        'attempt.asyncEnd#1',
        'select.publish',
        'attempt.start#2',
        'attempt.end#2',
        'attempt.asyncStart#2',
        'attempt.asyncEnd#2',
        'call.asyncStart',
        'call.asyncEnd',
      ]);
    } finally {
      await lb.stop();
    }
  });

  test('an aborted balanced call: error with the reason on the attempt, then on the call', async () => {
    const lb = await a.startLoadBalancer({ name: 'lb', nodeMatchList: [] });
    try {
      await lb.waitForMembers(2, { timeout: 5_000 });
      events.length = 0;
      const controller = new AbortController();
      const pending = lb.call('T', 'slow', [], { signal: controller.signal });
      setTimeout(() => controller.abort(new Error('user gave up')), 50);
      await assert.rejects(pending, /user gave up/);
      const order = events
        .filter(
          (e) => e.channel === TRACING_CHANNELS.call || e.channel === TRACING_CHANNELS.attempt,
        )
        .map((e) => `${e.channel.split(':')[1]}.${e.event}`);
      assert.deepEqual(order, [
        'call.start',
        'call.end',
        'attempt.start',
        'attempt.end',
        'attempt.error',
        'attempt.asyncStart',
        'attempt.asyncEnd',
        'call.error',
        'call.asyncStart',
        'call.asyncEnd',
      ]);
      const attempt = of(TRACING_CHANNELS.attempt, 'asyncEnd')[0]?.ctx as unknown as AttemptTrace;
      const call = of(TRACING_CHANNELS.call, 'asyncEnd')[0]?.ctx as unknown as CallTrace;
      assert.match(String(attempt.error), /user gave up/);
      assert.equal(attempt.code, undefined, 'an abort has no error code');
      assert.equal(call.error, attempt.error);
      assert.equal(call.attempts, 1);
    } finally {
      await lb.stop();
    }
  });

  test('an aborted call publishes error with the abort reason, and asyncEnd', async () => {
    const controller = new AbortController();
    const pending = a.call(b.name, 'T', 'slow', [], { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user gave up')), 50);
    await assert.rejects(pending, /user gave up/);
    const errored = of(TRACING_CHANNELS.call, 'error')[0]?.ctx as unknown as CallTrace;
    assert.match(String(errored.error), /user gave up/);
    assert.equal(of(TRACING_CHANNELS.call, 'asyncEnd').length, 1);
  });

  test('an lb.cast that finds no member: select:empty, then a failed cast trace', async () => {
    const empty = await a.startLoadBalancer({
      name: 'nobody',
      waitForMembers: false,
      nodeMatchList: [],
    });
    try {
      await assert.rejects(empty.cast('T', 'echo', []), { code: 'service_unavailable' });
    } finally {
      await empty.stop();
    }
    const order = events.map((e) => `${e.channel.split(':').slice(1).join(':')}.${e.event}`);
    assert.deepEqual(order, [
      'select:empty.publish',
      'cast.start',
      'cast.end',
      'cast.error',
      'cast.asyncStart',
      'cast.asyncEnd',
    ]);
    const cast = of(TRACING_CHANNELS.cast, 'asyncEnd')[0]?.ctx as unknown as CastTrace;
    assert.deepEqual(
      [cast.node, cast.balancer, cast.target, cast.module, cast.function, cast.code],
      [a.name, 'nobody', undefined, 'T', 'echo', 'service_unavailable'],
    );
  });

  test('casts are traced on both sides; an empty selection is published', async () => {
    await a.cast(b.name, 'T', 'echo', ['cast']);
    const deadline = Date.now() + 2_000;
    while (of(TRACING_CHANNELS.serve, 'asyncEnd').length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(of(TRACING_CHANNELS.cast, 'start').length, 1);
    assert.equal(of(TRACING_CHANNELS.cast, 'asyncEnd').length, 1);
    assert.equal(
      (of(TRACING_CHANNELS.serve, 'start')[0]?.ctx as unknown as ServeTrace | undefined)?.isCast,
      true,
    );
    const empty = await a.startLoadBalancer({
      name: 'nobody',
      waitForMembers: false,
      nodeMatchList: [],
    });
    await assert.rejects(empty.call('T', 'echo', []), { code: 'service_unavailable' });
    await empty.stop();
    const message = of(TRACING_CHANNELS.selectEmpty)[0]?.ctx;
    assert.deepEqual(message, {
      node: a.name,
      balancer: 'nobody',
      algorithm: 'LeastLoaded',
      reason: 'no_members',
    });
  });
});
