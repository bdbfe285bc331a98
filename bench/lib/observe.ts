/**
 * Observation for the `rpclb+otel` and `rpclb+metrics` benchmark systems, set up in each of their
 * processes (client and servers):
 * - `otel`: rpc-load-balancer/otel with the OpenTelemetry SDK as an application would run it (the
 *   AsyncLocalStorage context manager, the W3C propagator, so every call carries a traceparent,
 *   a batch span processor) exporting to an exporter that drops the spans, and a meter provider
 *   whose reader is never collected (histograms aggregate in memory, as between two exports);
 * - `metrics`: rpc-load-balancer/metrics on a prom-client registry watching the node, scraped
 *   once a second as Prometheus would (so the scrape-time gauges are paid for too).
 */
import type { RpcNode } from '../../src/index.js';

export type Observation = 'otel' | 'metrics';

/** Starts observing; resolves with the function that stops it. */
export async function observe(kind: Observation, node: RpcNode): Promise<() => Promise<void>> {
  return kind === 'otel' ? observeOtel() : observeMetrics(node);
}

async function observeOtel(): Promise<() => Promise<void>> {
  const api = await import('@opentelemetry/api');
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
  const { W3CTraceContextPropagator, ExportResultCode } = await import('@opentelemetry/core');
  const { BasicTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  const { MeterProvider, MetricReader } = await import('@opentelemetry/sdk-metrics');
  const { instrument } = await import('../../src/otel/index.js');
  const exporter = {
    export: (_spans: unknown[], done: (result: { code: number }) => void) =>
      done({ code: ExportResultCode.SUCCESS }),
    shutdown: async () => {},
  };
  const provider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  class IdleReader extends MetricReader {
    protected override async onForceFlush(): Promise<void> {}
    protected override async onShutdown(): Promise<void> {}
  }
  const meterProvider = new MeterProvider({ readers: [new IdleReader()] });
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager());
  api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const otel = instrument({ tracerProvider: provider, meterProvider });
  return async () => {
    otel.disable();
    await provider.shutdown();
    await meterProvider.shutdown();
  };
}

async function observeMetrics(node: RpcNode): Promise<() => Promise<void>> {
  const { Registry } = await import('prom-client');
  const { registerMetrics } = await import('../../src/metrics/index.js');
  const registry = new Registry();
  const metrics = registerMetrics(registry, { nodes: [node] });
  const scrape = setInterval(() => void registry.metrics(), 1_000);
  return async () => {
    clearInterval(scrape);
    metrics.close();
  };
}
