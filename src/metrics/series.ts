/**
 * The Prometheus series `registerMetrics` creates, with their label names, on the user's
 * `prom-client` registry. Names follow Prometheus conventions: a `rpclb_` prefix, base units
 * (seconds, ratios), `_total` on counters.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

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
  server_calls_total: ['node', 'type', 'module', 'function', 'status'],
  server_call_duration_seconds: ['node', 'module', 'function', 'status'],
  server_calls_in_flight: ['node'],
  peer_up_total: ['node', 'peer'],
  peer_down_total: ['node', 'peer', 'reason'],
  peers: ['node'],
  peer_load_in_flight: ['node', 'peer'],
  peer_load_event_loop_utilization_ratio: ['node', 'peer'],
} as const;

type SeriesName = keyof typeof SERIES_LABELS;

const HELP: Record<SeriesName, string> = {
  client_calls_started_total: 'Outgoing calls and casts started (a balanced call counts once).',
  client_calls_total:
    'Outgoing calls and casts finished, by target node (the last one tried) and status (ok, an error code, or aborted).',
  client_call_duration_seconds:
    'Duration of outgoing calls and casts (a balanced call with all its attempts), in seconds.',
  balancer_retries_total: 'Attempts of balanced calls after the first (a refused call retried).',
  balancer_selections_total: 'Members selected by each balancer.',
  balancer_empty_selections_total:
    'Selections that found no member (no_members, balancer_stopped, ...).',
  balancer_members: 'Members of each balancer, read at scrape time.',
  balancer_member_in_flight:
    'Selections of each member not yet released (calls in flight on it), read at scrape time.',
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

/** The prom-client metrics of one `registerMetrics` call. */
export interface Series {
  readonly clientStarted: Counter<string>;
  readonly clientCalls: Counter<string>;
  readonly clientDuration: Histogram<string>;
  readonly retries: Counter<string>;
  readonly selections: Counter<string>;
  readonly emptySelections: Counter<string>;
  readonly members: Gauge<string>;
  readonly memberInFlight: Gauge<string>;
  readonly serverCalls: Counter<string>;
  readonly serverDuration: Histogram<string>;
  readonly serverInFlight: Gauge<string>;
  readonly peerUp: Counter<string>;
  readonly peerDown: Counter<string>;
  readonly peers: Gauge<string>;
  readonly peerInFlight: Gauge<string>;
  readonly peerElu: Gauge<string>;
  /** Every metric, for removal. */
  readonly all: readonly { readonly name: string }[];
}

/** Creates every series on `registry`; `collect(gauge)` fills a gauge at scrape time. */
export function createSeries(
  registry: Registry,
  prefix: string,
  buckets: readonly number[],
  collect: (name: SeriesName, gauge: Gauge<string>) => void,
  collectCounter: (name: SeriesName, counter: Counter<string>) => void,
): Series {
  const registers = [registry];
  const opts = (name: SeriesName) => ({
    name: `${prefix}${name}`,
    help: HELP[name],
    labelNames: SERIES_LABELS[name],
    registers,
  });
  const counter = (name: SeriesName): Counter<string> =>
    new Counter({
      ...opts(name),
      collect() {
        collectCounter(name, this);
      },
    });
  const histogram = (name: SeriesName) => new Histogram({ ...opts(name), buckets: [...buckets] });
  const gauge = (name: SeriesName): Gauge<string> =>
    new Gauge({
      ...opts(name),
      collect() {
        collect(name, this);
      },
    });
  const series = {
    clientStarted: counter('client_calls_started_total'),
    clientCalls: counter('client_calls_total'),
    clientDuration: histogram('client_call_duration_seconds'),
    retries: counter('balancer_retries_total'),
    selections: counter('balancer_selections_total'),
    emptySelections: counter('balancer_empty_selections_total'),
    members: gauge('balancer_members'),
    memberInFlight: gauge('balancer_member_in_flight'),
    serverCalls: counter('server_calls_total'),
    serverDuration: histogram('server_call_duration_seconds'),
    serverInFlight: gauge('server_calls_in_flight'),
    peerUp: counter('peer_up_total'),
    peerDown: counter('peer_down_total'),
    peers: gauge('peers'),
    peerInFlight: gauge('peer_load_in_flight'),
    peerElu: gauge('peer_load_event_loop_utilization_ratio'),
  };
  return { ...series, all: Object.values(series) as unknown as { name: string }[] };
}
