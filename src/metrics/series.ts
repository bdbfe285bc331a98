/**
 * The Prometheus series `registerMetrics` creates, with their label names, on the user's
 * `prom-client` registry. Names follow Prometheus conventions: a `rpclb_` prefix, base units
 * (seconds, ratios), `_total` on counters.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { HistogramFamily } from './histogram.js';

/**
 * Call duration buckets, in seconds: from 50 µs (a call over loopback takes about 0.1 ms, and the
 * usual buckets start at 5 ms) to 60 s (past the default timeout of 10 s).
 */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
  5, 10, 30, 60,
]);

/** The label names of every series, by series (without the prefix). */
export const SERIES_LABELS = {
  client_calls_started_total: ['node', 'type', 'module', 'function', 'balancer'],
  client_calls_total: ['node', 'type', 'module', 'function', 'balancer', 'target', 'status'],
  client_call_duration_seconds: [
    'node',
    'type',
    'module',
    'function',
    'balancer',
    'target',
    'status',
  ],
  balancer_retries_total: ['node', 'balancer', 'module', 'function'],
  balancer_selections_total: ['node', 'balancer', 'algorithm', 'target'],
  balancer_empty_selections_total: ['node', 'balancer', 'algorithm', 'reason'],
  balancer_members: ['node', 'balancer', 'algorithm'],
  balancer_member_in_flight: ['node', 'balancer', 'target'],
  balancer_retry_decisions_total: ['node', 'balancer', 'module', 'function', 'outcome'],
  balancer_ejections_total: ['node', 'balancer', 'member', 'reason'],
  balancer_ejected_members: ['node', 'balancer'],
  balancer_probes_total: ['node', 'balancer', 'result'],
  balancer_probe_duration_seconds: ['node', 'balancer'],
  server_calls_total: ['node', 'type', 'module', 'function', 'status'],
  server_call_duration_seconds: ['node', 'module', 'function', 'status'],
  server_calls_in_flight: ['node'],
  peer_up_total: ['node', 'peer'],
  peer_down_total: ['node', 'peer', 'reason'],
  peers: ['node'],
  peer_load_in_flight: ['node', 'peer'],
  peer_load_event_loop_utilization_ratio: ['node', 'peer'],
} as const;

/** A series' name without the prefix. */
export type SeriesName = keyof typeof SERIES_LABELS;

const HELP: Record<SeriesName, string> = {
  client_calls_started_total: 'Outgoing calls and casts started (a balanced call counts once).',
  client_calls_total:
    'Outgoing calls and casts finished, by target node (the last one tried) and status (ok, an error code, or aborted).',
  client_call_duration_seconds:
    'Duration of outgoing calls and casts (a balanced call with all its attempts), in seconds.',
  balancer_retries_total:
    'Attempts of balanced calls after the first (a call that did not run, retried on another member).',
  balancer_selections_total: 'Members selected by each balancer.',
  balancer_empty_selections_total:
    'Selections that found no member (no_members, balancer_stopped, ...).',
  balancer_members: 'Members of each balancer, read at scrape time.',
  balancer_member_in_flight:
    'Selections of each member not yet released (calls in flight on it), read at scrape time.',
  balancer_retry_decisions_total:
    'Failed attempts that could be retried, by what the retry budget said: allowed or budget_exhausted.',
  balancer_ejections_total:
    'Members ejected by outlier detection, by reason: consecutive_failures, failure_percentage or success_rate.',
  balancer_ejected_members: 'Members ejected by outlier detection now, read at scrape time.',
  balancer_probes_total:
    'Load probes sent by each balancer, by result: ok or failed (no answer in time).',
  balancer_probe_duration_seconds: 'Round trip of the load probes answered, in seconds.',
  server_calls_total: 'Calls and casts served, by status.',
  server_call_duration_seconds:
    'Duration of calls served, from the request to the reply, in seconds.',
  server_calls_in_flight: 'Calls being served, read at scrape time.',
  peer_up_total: 'Connections established with each peer (nodeup).',
  peer_down_total: 'Peers lost (nodedown), by reason: closed, timeout or goodbye.',
  peers: 'Connected peers, read at scrape time.',
  peer_load_in_flight: 'Calls each peer last reported serving, read at scrape time.',
  peer_load_event_loop_utilization_ratio:
    "Each peer's last reported event-loop utilisation (0 to 1), read at scrape time.",
};

/** The metrics of one `registerMetrics` call. */
export interface Series {
  readonly clientDuration: HistogramFamily;
  readonly serverDuration: HistogramFamily;
  readonly probeDuration: HistogramFamily;
  /** Every series' full name, for removal. */
  readonly names: readonly string[];
}

/** Where the series get their values when the registry is scraped. */
export interface SeriesSources {
  /** Fills a state gauge. */
  gauge(name: SeriesName, gauge: Gauge<string>): void;
  /** Sets a counter to the totals kept per label set. */
  counter(name: SeriesName, counter: Counter<string>): void;
}

const COUNTERS = [
  'client_calls_started_total',
  'client_calls_total',
  'balancer_retries_total',
  'balancer_selections_total',
  'balancer_empty_selections_total',
  'balancer_retry_decisions_total',
  'balancer_ejections_total',
  'balancer_probes_total',
  'server_calls_total',
  'peer_up_total',
  'peer_down_total',
] as const satisfies readonly SeriesName[];
const GAUGES = [
  'balancer_members',
  'balancer_member_in_flight',
  'balancer_ejected_members',
  'server_calls_in_flight',
  'peers',
  'peer_load_in_flight',
  'peer_load_event_loop_utilization_ratio',
] as const satisfies readonly SeriesName[];

/**
 * Creates every series on `registry`, in the order of {@link SERIES_LABELS}: counters and gauges
 * are prom-client's, filled from `sources` at scrape time (their `collect`); the histograms are
 * {@link HistogramFamily}s the collector observes into.
 */
export function createSeries(
  registry: Registry,
  prefix: string,
  buckets: readonly number[],
  sources: SeriesSources,
): Series {
  const registers = [registry];
  const histograms = new Map<SeriesName, HistogramFamily>();
  const names: string[] = [];
  for (const name of Object.keys(SERIES_LABELS) as SeriesName[]) {
    const opts = {
      name: `${prefix}${name}`,
      help: HELP[name],
      labelNames: SERIES_LABELS[name],
      registers,
    };
    if ((COUNTERS as readonly string[]).includes(name)) {
      new Counter({
        ...opts,
        collect() {
          sources.counter(name, this);
        },
      });
    } else if ((GAUGES as readonly string[]).includes(name)) {
      new Gauge({
        ...opts,
        collect() {
          sources.gauge(name, this);
        },
      });
    } else {
      const family = new HistogramFamily(opts.name, opts.help, opts.labelNames, buckets);
      family.registerOn(registry);
      histograms.set(name, family);
    }
    names.push(opts.name);
  }
  const histogram = (name: SeriesName) => histograms.get(name) as HistogramFamily;
  return {
    clientDuration: histogram('client_call_duration_seconds'),
    serverDuration: histogram('server_call_duration_seconds'),
    probeDuration: histogram('balancer_probe_duration_seconds'),
    names,
  };
}
