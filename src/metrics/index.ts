/**
 * `rpc-load-balancer/metrics`: Prometheus metrics on a `prom-client` registry you pass (an
 * optional peer dependency; only this entry point imports it). Counters and histograms are
 * kept per label set from the library's tracing and diagnostics channels and handed to
 * prom-client when the registry is scraped; gauges that need a node's state (members, calls in
 * flight per member, ejected members, peers and their reported load) are read from
 * `node.inspect()` at scrape time. Exposition is prom-client's own.
 *
 * ```ts
 * import { Registry } from 'prom-client';
 * import { registerMetrics } from 'rpc-load-balancer/metrics';
 * const registry = new Registry();
 * const metrics = registerMetrics(registry, { nodes: [node] });
 * // serve `await registry.metrics()` as text/plain on /metrics; later: metrics.close();
 * ```
 */
import type { Registry } from 'prom-client';
import type { RpcNode } from '../node.js';
import { Collector } from './collector.js';
import { DEFAULT_DURATION_BUCKETS } from './series.js';

export { UNKNOWN_METHOD } from './collector.js';
export { DEFAULT_DURATION_BUCKETS, SERIES_LABELS } from './series.js';

/** Options of {@link registerMetrics}. */
export interface MetricsOptions {
  /**
   * The nodes to report on: only their calls, selections and peers are counted (other nodes in
   * the same process are ignored), and the gauges read their state at scrape time. Without it,
   * events of every node in the process are counted and the state gauges stay empty.
   * @default []
   */
  nodes?: readonly RpcNode[];
  /** Prefix of every series name. @default 'rpclb_' */
  prefix?: string;
  /**
   * Bucket boundaries of the histograms (call and served-call durations, probe round trips), in
   * seconds, increasing. @default {@link DEFAULT_DURATION_BUCKETS}
   */
  durationBuckets?: readonly number[];
  /**
   * The most distinct values one label (module, function, balancer; target, member and peer
   * share one limit, as node names) takes; further values are reported as `_other`, so a
   * program that calls ever new names cannot grow the registry without bound. @default 1000
   */
  maxLabelValues?: number;
}

/** What {@link registerMetrics} returns. */
export interface RpcMetrics {
  /** Stops counting and removes every series from the registry. Idempotent. */
  close(): void;
}

export { OTHER } from './tally.js';

/**
 * Registers the library's series on `registry` and starts counting.
 *
 * @example
 * ```ts
 * const metrics = registerMetrics(registry, { nodes: [node] });
 * ```
 */
export function registerMetrics(registry: Registry, options: MetricsOptions = {}): RpcMetrics {
  const collector = new Collector(registry, checkOptions(registry, options));
  collector.enable();
  return { close: () => collector.close() };
}

function checkOptions(registry: Registry, options: MetricsOptions): Required<MetricsOptions> {
  if (typeof registry?.registerMetric !== 'function') {
    throw new TypeError('registerMetrics(registry): registry must be a prom-client Registry');
  }
  const max = options.maxLabelValues ?? 1_000;
  if (!Number.isInteger(max) || max < 1) {
    throw new TypeError(`option "maxLabelValues" must be an integer >= 1, received ${max}`);
  }
  const nodes = options.nodes ?? [];
  if (!Array.isArray(nodes) || nodes.some((n) => typeof n?.inspect !== 'function')) {
    throw new TypeError('option "nodes" must be an array of nodes (from startNode())');
  }
  const buckets = options.durationBuckets ?? DEFAULT_DURATION_BUCKETS;
  if (
    !Array.isArray(buckets) ||
    buckets.length === 0 ||
    buckets.some((b, i) => typeof b !== 'number' || !(b > 0) || (i > 0 && b <= buckets[i - 1]))
  ) {
    throw new TypeError(
      'option "durationBuckets" must be increasing positive numbers of seconds (at least one)',
    );
  }
  return {
    nodes,
    prefix: options.prefix ?? 'rpclb_',
    durationBuckets: Number.isFinite(buckets.at(-1)) ? buckets : buckets.slice(0, -1),
    maxLabelValues: max,
  };
}
