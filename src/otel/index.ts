/**
 * `rpc-load-balancer/otel`: OpenTelemetry spans and metrics from the library's tracing channels,
 * following the RPC semantic conventions. `@opentelemetry/api` is an optional peer dependency:
 * only this entry point imports it.
 *
 * ```ts
 * import { instrument } from 'rpc-load-balancer/otel';
 * const otel = instrument();   // the global tracer and meter providers and propagator
 * // ... later
 * otel.disable();
 * ```
 *
 * - A **client span** (kind CLIENT) per `node.call` and per `lb.call`, covering all of a balanced
 *   call's attempts; each attempt is an `rpclb.attempt` event on it.
 * - A **producer span** (kind PRODUCER) per cast, up to its hand-off to the transport.
 * - A **server span** (kind SERVER, CONSUMER for a cast) per call served, the child of the
 *   caller's span through the W3C `traceparent` the client span injects into the call's
 *   metadata (with the globally configured propagator), and active while the handler runs.
 * - Histograms `rpc.client.call.duration` and `rpc.server.call.duration`, in seconds.
 * - A balancer's own work: the counters `rpclb.balancer.ejections` (outlier detection) and
 *   `rpclb.balancer.probes`, the histogram `rpclb.balancer.probe.duration` (seconds), and an
 *   `rpclb.retry.budget_exhausted` event on the client span of a call whose retry the budget denied.
 */
import { type MeterProvider, metrics, type TracerProvider, trace } from '@opentelemetry/api';
import { BalancerMetrics } from './balancer-metrics.js';
import { ClientSpans } from './client-spans.js';
import type { Instruments } from './conventions.js';
import { ServerSpans } from './server-spans.js';

export {
  ATTEMPT_EVENT,
  ATTRIBUTES,
  RETRY_DENIED_EVENT,
  RPC_SYSTEM_NAME,
} from './conventions.js';

/** The instrumentation scope name spans and metrics are reported under. */
export const INSTRUMENTATION_NAME = 'rpc-load-balancer';

/**
 * Duration histogram boundaries, in seconds: the conventions' advice (5 ms to 10 s) extended
 * down to 50 µs, since a call over loopback or a LAN takes 0.1 to 1 ms, which the advised
 * boundaries would lump into their first bucket.
 */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5,
  0.75, 1, 2.5, 5, 7.5, 10,
]);

/** Options of {@link instrument}. */
export interface OpenTelemetryOptions {
  /** Where spans go. @default the global tracer provider (`trace.getTracerProvider()`) */
  tracerProvider?: TracerProvider;
  /** Where the duration histograms go. @default the global meter provider (`metrics.getMeterProvider()`) */
  meterProvider?: MeterProvider;
  /** Report spans. @default true */
  traces?: boolean;
  /**
   * Report the metrics: the `rpc.client.call.duration` and `rpc.server.call.duration`
   * histograms, and the balancers' `rpclb.balancer.ejections`, `rpclb.balancer.probes` and
   * `rpclb.balancer.probe.duration`. @default true
   */
  metrics?: boolean;
  /** Histogram bucket boundaries, in seconds (advice; a View can override it). @default {@link DEFAULT_DURATION_BUCKETS} */
  durationBuckets?: readonly number[];
}

/** What {@link instrument} returns. */
export interface OpenTelemetryInstrumentation {
  /** Stops reporting (unsubscribes from the channels). Idempotent. */
  disable(): void;
}

/**
 * Starts reporting every node's calls in this process as OpenTelemetry spans and metrics.
 * Calling it twice reports twice: keep the returned handle and `disable()` it instead.
 *
 * @example
 * ```ts
 * import { instrument } from 'rpc-load-balancer/otel';
 * instrument({ tracerProvider: provider });
 * ```
 */
export function instrument(options: OpenTelemetryOptions = {}): OpenTelemetryInstrumentation {
  const instruments = makeInstruments(checkOptions(options));
  const parts = [
    new ClientSpans(instruments),
    new ServerSpans(instruments),
    new BalancerMetrics(instruments),
  ];
  for (const part of parts) part.enable();
  let enabled = true;
  return {
    disable() {
      if (!enabled) return;
      enabled = false;
      for (const part of parts) part.disable();
    },
  };
}

function checkOptions(options: OpenTelemetryOptions): OpenTelemetryOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`instrument(options): options must be an object, received ${options}`);
  }
  const buckets = options.durationBuckets;
  if (
    buckets !== undefined &&
    (!Array.isArray(buckets) ||
      buckets.some((b, i) => typeof b !== 'number' || !(b > 0) || (i > 0 && b <= buckets[i - 1])))
  ) {
    throw new TypeError(
      'instrument(options): durationBuckets must be increasing positive numbers of seconds',
    );
  }
  return options;
}

function makeInstruments(options: OpenTelemetryOptions): Instruments {
  const tracer =
    options.traces === false
      ? undefined
      : (options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_NAME);
  if (options.metrics === false) {
    return {
      tracer,
      clientDuration: undefined,
      serverDuration: undefined,
      ejections: undefined,
      probes: undefined,
      probeDuration: undefined,
    };
  }
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(
    INSTRUMENTATION_NAME,
  );
  const advice = {
    explicitBucketBoundaries: [...(options.durationBuckets ?? DEFAULT_DURATION_BUCKETS)],
  };
  return {
    tracer,
    clientDuration: meter.createHistogram('rpc.client.call.duration', {
      description: 'Duration of outgoing calls (a balanced call with all its attempts).',
      unit: 's',
      advice,
    }),
    serverDuration: meter.createHistogram('rpc.server.call.duration', {
      description: 'Duration of incoming calls, from the request to the reply.',
      unit: 's',
      advice,
    }),
    ejections: meter.createCounter('rpclb.balancer.ejections', {
      description: 'Members ejected by outlier detection.',
      unit: '{ejection}',
    }),
    probes: meter.createCounter('rpclb.balancer.probes', {
      description: 'Load probes sent by balancers, answered (ok) or not (failed).',
      unit: '{probe}',
    }),
    probeDuration: meter.createHistogram('rpclb.balancer.probe.duration', {
      description: 'Round trip of the load probes answered.',
      unit: 's',
      advice,
    }),
  };
}
