/**
 * rpc-load-balancer/metrics and rpc-load-balancer/otel in one process: options are checked,
 * label values are capped, events of nodes not watched are not counted, close()/disable() stop
 * reporting and remove the series.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import { type RpcNode, startNode } from '../../src/index.js';
import { registerMetrics } from '../../src/metrics/index.js';
import { instrument } from '../../src/otel/index.js';

const quiet = { logLevel: 'silent' as const, cookie: 'observability-options' };

describe('observability integrations: options and limits', () => {
  let a: RpcNode;
  let b: RpcNode;

  before(async () => {
    a = await startNode({ name: 'oo-a@127.0.0.1', ...quiet });
    b = await startNode({ name: 'oo-b@127.0.0.1', ...quiet });
    b.expose('M', { f1: () => 1, f2: () => 2, f3: () => 3 });
    await a.connect(b.address);
  });
  after(async () => {
    await Promise.all([a.destroy(), b.destroy()]);
  });

  test('registerMetrics checks its arguments', () => {
    assert.throws(() => registerMetrics({} as Registry), /prom-client Registry/);
    assert.throws(() => registerMetrics(new Registry(), { maxLabelValues: 0 }), /maxLabelValues/);
    assert.throws(
      () => registerMetrics(new Registry(), { nodes: [{}] as unknown as RpcNode[] }),
      /nodes/,
    );
  });

  test('label values past maxLabelValues are _other; other nodes are not counted', async () => {
    const registry = new Registry();
    const metrics = registerMetrics(registry, { nodes: [a], maxLabelValues: 2 });
    try {
      for (const fn of ['f1', 'f2', 'f3']) await a.call(b.name, 'M', fn, []);
      await b.call(a.name, 'Nope', 'x', []).catch(() => {}); // b is not watched
      const text = await registry.metrics();
      const calls = text.split('\n').filter((l) => l.startsWith('rpclb_client_calls_total{'));
      assert.deepEqual(
        calls.map((l) => /function="([^"]*)"/.exec(l)?.[1]),
        ['f1', 'f2', '_other'],
      );
      assert.ok(!text.includes(`node="${b.name}"`), 'b is not watched');
    } finally {
      metrics.close();
    }
    assert.equal((await registry.metrics()).trim(), '', 'close() removes every series');
    await a.call(b.name, 'M', 'f1', []); // and nothing is counted any more (no error either)
  });

  test('instrument(): options checked; traces: false reports no span; disable() stops', async () => {
    assert.throws(() => instrument({ durationBuckets: [1, 0.5] }), /durationBuckets/);
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const off = instrument({ tracerProvider, traces: false, metrics: false });
    await a.call(b.name, 'M', 'f1', []);
    off.disable();
    assert.equal(exporter.getFinishedSpans().length, 0);
    const on = instrument({ tracerProvider, metrics: false });
    await a.call(b.name, 'M', 'f2', []);
    on.disable();
    on.disable();
    await a.call(b.name, 'M', 'f3', []);
    assert.deepEqual(
      exporter.getFinishedSpans().map((s) => [s.name, s.kind]),
      [
        ['M/f2', SpanKind.SERVER],
        ['M/f2', SpanKind.CLIENT],
      ],
    );
    await tracerProvider.shutdown();
  });
});
