/**
 * rpc-load-balancer/otel across real processes, with the OpenTelemetry SDK's in-memory exporter:
 * node A (this process) calls through a balancer whose members B and C are worker processes
 * with the SDK set up too. A balanced call is a CLIENT span on A and a SERVER span on the member
 * in one trace, parent → child, with the RPC semantic-convention attributes, and the server span
 * is active in the handler; a retried call is one CLIENT span with both attempts as events and a
 * SERVER span per attempt under it; unknown methods are `_OTHER`; both duration histograms are
 * in seconds with buckets from 50 µs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { algorithms, type LoadBalancer, type RpcNode, startNode } from '../../src/index.js';
import { Cluster, COOKIE, type Worker } from '../helpers/cluster.js';
import { type PointRecord, type SpanRecord, setupOtel, type TestOtel } from '../helpers/otel.js';

describe('OpenTelemetry across processes', () => {
  const cluster = new Cluster();
  let otel: TestOtel;
  let a: RpcNode;
  let lb: LoadBalancer;
  let b: Worker;
  let c: Worker;
  const byName = () => new Map([b, c].map((w) => [w.name, w]));

  before(async () => {
    otel = setupOtel();
    [b, c] = await Promise.all([
      cluster.spawn({ name: 'otel-b@127.0.0.1', behaviour: { otel: true, refuse: true } }),
      cluster.spawn({ name: 'otel-c@127.0.0.1', behaviour: { otel: true } }),
    ]);
    a = await startNode({ name: 'otel-a@127.0.0.1', cookie: COOKIE, logLevel: 'silent' });
    await Promise.all([b, c].map((w) => w.request('startLb', { name: 'lb' })));
    await a.connect(b.address);
    await a.connect(c.address);
    // RoundRobin: the retry test needs calls that hit the refusing member first
    lb = await a.startLoadBalancer({
      name: 'lb',
      nodeMatchList: [],
      selectionAlgorithm: algorithms.RoundRobin,
    });
    await lb.waitForMembers(2, { timeout: 10_000 });
  });
  after(async () => {
    await a?.destroy();
    cluster.cleanup();
    await otel?.shutdown();
  });

  test('a balanced call: CLIENT span on A, SERVER span on the member, one trace, parent → child', async () => {
    otel.reset();
    const servedBy = await otel.tracer.startActiveSpan('request', async (span) => {
      try {
        return await lb.call<string>('Otel', 'nested', []);
      } finally {
        span.end();
      }
    });
    const mine = otel.spans();
    const request = mine.find((s) => s.name === 'request') as SpanRecord;
    const client = only(mine, (s) => s.kind === SpanKind.CLIENT);
    assert.equal(client.name, 'Otel/nested');
    assert.equal(client.traceId, request.traceId);
    assert.equal(client.parentSpanId, request.spanId, 'the caller’s active span is the parent');
    assert.deepEqual(client.attributes, {
      'rpc.system.name': 'rpclb',
      'rpc.method': 'Otel/nested',
      'server.address': 'lb',
      'rpclb.node': a.name,
      'rpclb.balancer': 'lb',
      'rpclb.target': servedBy,
      'rpclb.attempts': 1,
      'rpc.status_code': 'ok',
    });
    assert.equal(client.status.code, SpanStatusCode.UNSET);
    assert.deepEqual(
      client.events.map((e) => [
        e.name,
        e.attributes['rpclb.attempt'],
        e.attributes['rpclb.target'],
      ]),
      [['rpclb.attempt', 1, servedBy]],
    );

    const theirs = await (byName().get(servedBy) as Worker).request<SpanRecord[]>('otelSpans');
    const server = only(theirs, (s) => s.kind === SpanKind.SERVER && s.traceId === client.traceId);
    assert.equal(server.name, 'Otel/nested');
    assert.equal(server.parentSpanId, client.spanId, 'the server span is the client span’s child');
    assert.deepEqual(server.attributes, {
      'rpc.system.name': 'rpclb',
      'rpc.method': 'Otel/nested',
      'server.address': servedBy,
      'rpclb.node': servedBy,
      'rpclb.caller': a.name,
      'rpc.status_code': 'ok',
    });
    const inner = only(theirs, (s) => s.name === 'inner' && s.traceId === client.traceId);
    assert.equal(inner.parentSpanId, server.spanId, 'the server span is active in the handler');
  });

  test('a cast: a PRODUCER span on A, with the cast and its target; the member serves it in the same trace', async () => {
    otel.reset();
    await lb.cast('Otel', 'nested', []);
    const producer = only(otel.spans(), (s) => s.kind === SpanKind.PRODUCER);
    assert.equal(producer.name, 'Otel/nested');
    const target = producer.attributes['rpclb.target'] as string;
    assert.ok(byName().has(target), `a member: ${target}`);
    assert.equal(producer.attributes['rpclb.cast'], true);
    assert.equal(producer.attributes['rpclb.balancer'], 'lb');
    assert.equal(producer.attributes['server.address'], 'lb');
    assert.equal(producer.attributes['rpclb.node'], a.name);
    const worker = byName().get(target) as Worker;
    let served: SpanRecord | undefined;
    for (let i = 0; i < 100 && served === undefined; i++) {
      const theirs = await worker.request<SpanRecord[]>('otelSpans');
      served = theirs.find((s) => s.traceId === producer.traceId && s.name === 'Otel/nested');
      if (served === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(served, 'the member served the cast in the producer span’s trace');
    assert.equal(served.parentSpanId, producer.spanId);
  });

  test('a retried call: one CLIENT span, both attempts as events, a SERVER span per attempt', async () => {
    let client: SpanRecord | undefined;
    for (let i = 0; i < 30 && client === undefined; i++) {
      otel.reset();
      assert.equal(await lb.call('Refuse', 'maybe', []), c.name);
      client = otel.spans().find((s) => s.attributes['rpclb.attempts'] === 2);
    }
    assert.ok(client, 'no call hit the refusing member first in 30 tries');
    assert.equal(otel.spans().filter((s) => s.kind === SpanKind.CLIENT).length, 1);
    assert.equal(client.attributes['rpclb.target'], c.name);
    assert.equal(client.attributes['rpc.status_code'], 'ok');
    assert.equal(client.status.code, SpanStatusCode.UNSET, 'a retried error is no error');
    assert.deepEqual(
      client.events.map((e) => ({
        attempt: e.attributes['rpclb.attempt'],
        target: e.attributes['rpclb.target'],
        status: e.attributes['rpc.status_code'],
        errorType: e.attributes['error.type'],
        timed: typeof e.attributes['rpclb.attempt.duration'] === 'number',
      })),
      [
        {
          attempt: 1,
          target: b.name,
          status: 'service_unavailable',
          errorType: 'service_unavailable',
          timed: true,
        },
        { attempt: 2, target: c.name, status: 'ok', errorType: undefined, timed: true },
      ],
    );
    const traceId = client.traceId;
    const refused = only(await b.request<SpanRecord[]>('otelSpans'), (s) => s.traceId === traceId);
    const served = only(await c.request<SpanRecord[]>('otelSpans'), (s) => s.traceId === traceId);
    for (const span of [refused, served]) {
      assert.equal(span.kind, SpanKind.SERVER);
      assert.equal(span.parentSpanId, client.spanId);
    }
    assert.equal(refused.attributes['error.type'], 'service_unavailable');
    assert.equal(refused.status.code, SpanStatusCode.ERROR);
    assert.equal(served.status.code, SpanStatusCode.UNSET);
  });

  test('an unknown method is _OTHER on both sides; an error on the client only', async () => {
    otel.reset();
    await assert.rejects(a.call(b.name, 'Otel', 'missing', []), { code: 'not_found' });
    const client = only(otel.spans(), (s) => s.kind === SpanKind.CLIENT);
    assert.equal(client.name, 'rpclb');
    assert.equal(client.attributes['rpc.method'], '_OTHER');
    assert.equal(client.attributes['rpc.method_original'], 'Otel/missing');
    assert.equal(client.attributes['error.type'], 'not_found');
    assert.equal(client.attributes['server.address'], b.name);
    assert.equal(client.status.code, SpanStatusCode.ERROR);
    const server = only(await b.request<SpanRecord[]>('otelSpans'), (s) => {
      return s.traceId === client.traceId;
    });
    assert.equal(server.parentSpanId, client.spanId);
    assert.equal(server.attributes['rpc.status_code'], 'not_found');
    assert.equal(
      server.attributes['error.type'],
      undefined,
      "the caller's mistake, not the server's",
    );
    assert.equal(server.status.code, SpanStatusCode.UNSET);
  });

  test('duration histograms in seconds, buckets from 50 µs, on both sides', async () => {
    const clientPoints = (await otel.points()).filter(
      (p) => p.metric === 'rpc.client.call.duration',
    );
    const ok = clientPoints.find(
      (p) =>
        p.attributes['rpc.method'] === 'Otel/nested' && p.attributes['rpc.status_code'] === 'ok',
    ) as PointRecord;
    assert.ok(ok, 'a data point for the successful call');
    assert.equal(ok.unit, 's');
    assert.equal(ok.count, 1);
    assert.equal(ok.boundaries[0], 0.00005);
    assert.deepEqual(ok.attributes, {
      'rpc.system.name': 'rpclb',
      'rpc.method': 'Otel/nested',
      'server.address': 'lb',
      'rpclb.balancer': 'lb',
      'rpc.status_code': 'ok',
    });
    const failed = clientPoints.find((p) => p.attributes['error.type'] === 'not_found');
    assert.equal(failed?.attributes['rpc.method'], '_OTHER');
    const serverPoints = await c.request<PointRecord[]>('otelPoints');
    const served = serverPoints.find(
      (p) =>
        p.metric === 'rpc.server.call.duration' && p.attributes['rpc.method'] === 'Refuse/maybe',
    );
    assert.equal(served?.unit, 's');
    assert.ok((served?.count ?? 0) >= 1);
  });
});

function only(spans: SpanRecord[], predicate: (s: SpanRecord) => boolean): SpanRecord {
  const found = spans.filter(predicate);
  assert.equal(found.length, 1, `expected one span, found ${JSON.stringify(found, null, 1)}`);
  return found[0] as SpanRecord;
}
