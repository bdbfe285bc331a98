/**
 * `rpc-load-balancer/metrics`: Prometheus metrics on a `prom-client` registry you pass (an
 * optional peer dependency; only this entry point imports it). Counters and histograms are
 * updated from the library's tracing and diagnostics channels; gauges that need a node's state
 * (members, calls in flight per member, peers and their reported load) are read from
 * `node.inspect()` when the registry is scraped. Exposition is prom-client's own.
 *
 * ```ts
 * import { Registry } from 'prom-client';
 * import { registerMetrics } from 'rpc-load-balancer/metrics';
 * const registry = new Registry();
 * const metrics = registerMetrics(registry, { nodes: [node] });
 * // serve `await registry.metrics()` as text/plain on /metrics; later: metrics.close();
 * ```
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { Gauge, Registry } from 'prom-client';
import { DIAGNOSTICS_CHANNELS, type NodeDownMessage, type NodeUpMessage } from '../diagnostics.js';
import type { NodeSnapshot } from '../inspect.js';
import type { RpcNode } from '../node.js';
import { outcomeStatus } from '../trace-outcome.js';
import {
  type AttemptTrace,
  type CallTrace,
  type CastTrace,
  type EmptySelectionMessage,
  type SelectionMessage,
  type ServeTrace,
  TRACING_CHANNELS,
} from '../tracing.js';
import { createSeries, DEFAULT_DURATION_BUCKETS, type Series } from './series.js';

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
  /** Bucket boundaries of the duration histograms, in seconds. @default {@link DEFAULT_DURATION_BUCKETS} */
  durationBuckets?: readonly number[];
  /**
   * The most distinct values one label (module, function, target, peer, balancer) takes; further
   * values are reported as `_other`, so a program that calls ever new names cannot grow the
   * registry without bound. @default 1000
   */
  maxLabelValues?: number;
}

/** What {@link registerMetrics} returns. */
export interface RpcMetrics {
  /** Stops counting and removes every series from the registry. Idempotent. */
  close(): void;
}

/** The label value for a value past `maxLabelValues`, and for a method a node does not expose. */
export const OTHER = '_other';
/** The module and function label of a call that failed with `not_found` (names that came from the network). */
export const UNKNOWN_METHOD = '_OTHER';

type Marked = Record<symbol, unknown>;
type Subscription = [diagnosticsChannel.Channel, (message: unknown) => void];

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
  return {
    nodes,
    prefix: options.prefix ?? 'rpclb_',
    durationBuckets: options.durationBuckets ?? DEFAULT_DURATION_BUCKETS,
    maxLabelValues: max,
  };
}

/** Keeps a label's distinct values under a limit. */
class LabelLimit {
  readonly #seen = new Set<string>();
  constructor(readonly max: number) {}
  value(v: string | undefined): string {
    if (v === undefined) return '';
    if (this.#seen.has(v)) return v;
    if (this.#seen.size >= this.max) return OTHER;
    this.#seen.add(v);
    return v;
  }
}

class Collector {
  readonly #registry: Registry;
  readonly #series: Series;
  readonly #nodes: readonly RpcNode[];
  readonly #names: ReadonlySet<string>;
  readonly #started = Symbol('rpclb.metrics.started');
  readonly #subscriptions: Subscription[] = [];
  readonly #labels: Record<'module' | 'fn' | 'node' | 'balancer', LabelLimit>;
  #snapshots: NodeSnapshot[] | undefined;
  #closed = false;

  constructor(registry: Registry, options: Required<MetricsOptions>) {
    this.#registry = registry;
    this.#nodes = options.nodes;
    this.#names = new Set(options.nodes.map((n) => n.name));
    const limit = () => new LabelLimit(options.maxLabelValues);
    this.#labels = { module: limit(), fn: limit(), node: limit(), balancer: limit() };
    this.#series = createSeries(registry, options.prefix, options.durationBuckets, (name, gauge) =>
      this.#collect(name, gauge),
    );
  }

  enable(): void {
    const call = diagnosticsChannel.tracingChannel(TRACING_CHANNELS.call);
    const attempt = diagnosticsChannel.tracingChannel(TRACING_CHANNELS.attempt);
    const cast = diagnosticsChannel.tracingChannel(TRACING_CHANNELS.cast);
    const serve = diagnosticsChannel.tracingChannel(TRACING_CHANNELS.serve);
    const on = <T>(channel: diagnosticsChannel.Channel, handler: (message: T) => void) =>
      this.#subscriptions.push([channel, handler as (message: unknown) => void]);
    on<CallTrace & Marked>(call.start, (ctx) => this.#clientStarted(ctx, 'call'));
    on<CallTrace & Marked>(call.asyncEnd, (ctx) => this.#clientEnded(ctx, 'call'));
    on<CastTrace & Marked>(cast.start, (ctx) => this.#clientStarted(ctx, 'cast'));
    on<CastTrace & Marked>(cast.asyncEnd, (ctx) => this.#clientEnded(ctx, 'cast'));
    on<AttemptTrace>(attempt.start, (ctx) => this.#attemptStarted(ctx));
    on<ServeTrace & Marked>(serve.start, (ctx) => this.#serveStarted(ctx));
    on<ServeTrace & Marked>(serve.asyncEnd, (ctx) => this.#serveEnded(ctx));
    on<SelectionMessage>(diagnosticsChannel.channel(TRACING_CHANNELS.select), (m) =>
      this.#selected(m),
    );
    on<EmptySelectionMessage>(diagnosticsChannel.channel(TRACING_CHANNELS.selectEmpty), (m) =>
      this.#selectedNone(m),
    );
    on<NodeUpMessage>(diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.nodeUp), (m) =>
      this.#peerUp(m),
    );
    on<NodeDownMessage>(diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.nodeDown), (m) =>
      this.#peerDown(m),
    );
    for (const [channel, handler] of this.#subscriptions) channel.subscribe(handler);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [channel, handler] of this.#subscriptions) channel.unsubscribe(handler);
    for (const metric of this.#series.all) this.#registry.removeSingleMetric(metric.name);
  }

  /** `true` for an event of a watched node (or of any node when none is given). */
  #watched(node: string): boolean {
    return this.#names.size === 0 || this.#names.has(node);
  }

  #clientStarted(ctx: (CallTrace | CastTrace) & Marked, type: 'call' | 'cast'): void {
    if (!this.#watched(ctx.node)) return;
    ctx[this.#started] = performance.now();
    const l = this.#labels;
    this.#series.clientStarted.inc({
      node: ctx.node,
      type,
      module: l.module.value(ctx.module),
      function: l.fn.value(ctx.function),
      balancer: l.balancer.value(ctx.balancer),
    });
  }

  #clientEnded(ctx: (CallTrace | CastTrace) & Marked, type: 'call' | 'cast'): void {
    const started = ctx[this.#started] as number | undefined;
    if (started === undefined) return;
    const status = outcomeStatus(ctx);
    const known = status !== 'not_found';
    const l = this.#labels;
    const labels = {
      node: ctx.node,
      type,
      module: known ? l.module.value(ctx.module) : UNKNOWN_METHOD,
      function: known ? l.fn.value(ctx.function) : UNKNOWN_METHOD,
      balancer: l.balancer.value(ctx.balancer),
      target: l.node.value(ctx.target),
      status,
    };
    this.#series.clientCalls.inc(labels);
    this.#series.clientDuration.observe(labels, (performance.now() - started) / 1000);
  }

  #attemptStarted(ctx: AttemptTrace): void {
    if (ctx.attempt < 2 || !this.#watched(ctx.node)) return;
    const l = this.#labels;
    this.#series.retries.inc({
      node: ctx.node,
      balancer: l.balancer.value(ctx.balancer),
      module: l.module.value(ctx.module),
      function: l.fn.value(ctx.function),
    });
  }

  #serveStarted(ctx: ServeTrace & Marked): void {
    if (this.#watched(ctx.node)) ctx[this.#started] = performance.now();
  }

  #serveEnded(ctx: ServeTrace & Marked): void {
    const started = ctx[this.#started] as number | undefined;
    if (started === undefined) return;
    const status = outcomeStatus(ctx);
    // A name a node does not expose came from the network: never a label value.
    const known = status !== 'not_found';
    const labels = {
      node: ctx.node,
      module: known ? this.#labels.module.value(ctx.module) : UNKNOWN_METHOD,
      function: known ? this.#labels.fn.value(ctx.function) : UNKNOWN_METHOD,
      status,
    };
    this.#series.serverCalls.inc({ ...labels, type: ctx.isCast ? 'cast' : 'call' });
    if (!ctx.isCast) {
      this.#series.serverDuration.observe(labels, (performance.now() - started) / 1000);
    }
  }

  #selected(m: SelectionMessage): void {
    if (!this.#watched(m.node)) return;
    this.#series.selections.inc({
      node: m.node,
      balancer: this.#labels.balancer.value(m.balancer),
      algorithm: m.algorithm,
      target: this.#labels.node.value(m.selected),
    });
  }

  #selectedNone(m: EmptySelectionMessage): void {
    if (!this.#watched(m.node)) return;
    this.#series.emptySelections.inc({
      node: m.node,
      balancer: this.#labels.balancer.value(m.balancer),
      algorithm: m.algorithm,
      reason: m.reason,
    });
  }

  #peerUp(m: NodeUpMessage): void {
    if (this.#watched(m.node)) {
      this.#series.peerUp.inc({ node: m.node, peer: this.#labels.node.value(m.peer) });
    }
  }

  #peerDown(m: NodeDownMessage): void {
    if (!this.#watched(m.node)) return;
    const peer = this.#labels.node.value(m.peer);
    this.#series.peerDown.inc({ node: m.node, peer, reason: m.reason });
  }

  /** Fills a state gauge from the watched nodes' snapshots, taken once per scrape. */
  #collect(name: string, gauge: Gauge<string>): void {
    gauge.reset();
    for (const s of this.#snapshotsOfThisScrape()) {
      const node = s.node;
      switch (name) {
        case 'balancer_members':
          for (const b of s.balancers) {
            gauge.set({ node, balancer: b.name, algorithm: b.algorithm }, b.members.length);
          }
          break;
        case 'balancer_member_in_flight':
          for (const b of s.balancers) {
            for (const m of b.members) {
              gauge.set({ node, balancer: b.name, target: m.node }, m.inFlight);
            }
          }
          break;
        case 'server_calls_in_flight':
          gauge.set({ node }, s.server.inFlight);
          break;
        case 'peers':
          gauge.set({ node }, s.peers.length);
          break;
        case 'peer_load_in_flight':
        case 'peer_load_event_loop_utilization_ratio':
          for (const p of s.peers) {
            if (p.load === undefined) continue;
            const value = name === 'peer_load_in_flight' ? p.load.inFlight : p.load.elu;
            gauge.set({ node, peer: p.name }, value);
          }
          break;
      }
    }
  }

  /** prom-client collects every metric of a scrape in one turn: one snapshot per node serves them all. */
  #snapshotsOfThisScrape(): NodeSnapshot[] {
    if (this.#snapshots === undefined) {
      this.#snapshots = this.#nodes.filter((n) => !n.closing).map((n) => n.inspect());
      setImmediate(() => {
        this.#snapshots = undefined;
      });
    }
    return this.#snapshots;
  }
}
