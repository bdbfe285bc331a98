/**
 * An OpenTelemetry SDK for tests, in one process: spans to an in-memory exporter, metrics to a
 * reader collected on demand, the AsyncLocalStorage context manager and the W3C propagator
 * registered globally, and `rpc-load-balancer/otel` instrumenting the process. Spans and data
 * points come out as plain objects, so they cross IPC from a worker process unchanged.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { instrument, type OpenTelemetryInstrumentation } from '../../src/otel/index.js';

/** A finished span, as plain data. */
export interface SpanRecord {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  attributes: Record<string, unknown>;
  status: { code: number; message?: string };
  events: { name: string; attributes: Record<string, unknown> }[];
}

/** A histogram data point (or a counter's: `count` is its value, no boundaries), as plain data. */
export interface PointRecord {
  metric: string;
  unit: string;
  attributes: Record<string, unknown>;
  count: number;
  boundaries: number[];
}

class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export interface TestOtel {
  readonly tracer: ReturnType<BasicTracerProvider['getTracer']>;
  spans(): SpanRecord[];
  points(): Promise<PointRecord[]>;
  reset(): void;
  shutdown(): Promise<void>;
}

/** Sets the SDK up globally and instruments the process. Call once per process. */
export function setupOtel(): TestOtel {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const contextManager = new AsyncLocalStorageContextManager();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const instrumentation: OpenTelemetryInstrumentation = instrument({ meterProvider });
  return {
    tracer: provider.getTracer('test'),
    spans: () =>
      exporter.getFinishedSpans().map((s) => ({
        name: s.name,
        kind: s.kind,
        traceId: s.spanContext().traceId,
        spanId: s.spanContext().spanId,
        parentSpanId: s.parentSpanContext?.spanId,
        attributes: { ...s.attributes },
        status: { ...s.status },
        events: s.events.map((e) => ({ name: e.name, attributes: { ...e.attributes } })),
      })),
    points: async () => {
      const { resourceMetrics } = await reader.collect();
      return resourceMetrics.scopeMetrics.flatMap((scope) =>
        scope.metrics.flatMap((m) =>
          m.dataPoints.map((p) => {
            // a histogram's point has a count and buckets; a counter's is its sum
            const value = p.value as number | { count: number; buckets: { boundaries: number[] } };
            return {
              metric: m.descriptor.name,
              unit: m.descriptor.unit,
              attributes: { ...p.attributes },
              count: typeof value === 'number' ? value : value.count,
              boundaries: typeof value === 'number' ? [] : value.buckets.boundaries,
            };
          }),
        ),
      );
    },
    reset: () => exporter.reset(),
    shutdown: async () => {
      instrumentation.disable();
      await provider.shutdown();
      await meterProvider.shutdown();
      contextManager.disable();
    },
  };
}
