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
import { LabelLimit, Tally, type TallyEntry } from './tally.js';

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

export { OTHER } from './tally.js';
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

class Collector {
  readonly #registry: Registry;
  readonly #series: Series;
  readonly #nodes: readonly RpcNode[];
  readonly #names: ReadonlySet<string>;
  readonly #started = Symbol('rpclb.metrics.started');
  readonly #subscriptions: Subscription[] = [];
  readonly #labels: Record<'module' | 'fn' | 'node' | 'balancer', LabelLimit>;
  readonly #tallies = new Map<string, Tally>();
  readonly #startedTally = this.#tally('client_calls_started_total');
  readonly #callsTally = this.#tally('client_calls_total');
  readonly #servedTally = this.#tally('server_calls_total');
  readonly #selectionsTally = this.#tally('balancer_selections_total');
  #snapshots: NodeSnapshot[] | undefined;
  #closed = false;

  constructor(registry: Registry, options: Required<MetricsOptions>) {
    this.#registry = registry;
    this.#nodes = options.nodes;
    this.#names = new Set(options.nodes.map((n) => n.name));
    const limit = () => new LabelLimit(options.maxLabelValues);
    this.#labels = { module: limit(), fn: limit(), node: limit(), balancer: limit() };
    this.#series = createSeries(
      registry,
      options.prefix,
      options.durationBuckets,
      (name, gauge) => this.#collect(name, gauge),
      (name, counter) => this.#tally(name).writeTo(counter),
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

  #tally(name: string): Tally {
    let tally = this.#tallies.get(name);
    if (tally === undefined) this.#tallies.set(name, (tally = new Tally()));
    return tally;
  }

  /** `true` for an event of a watched node (or of any node when none is given). */
  #watched(node: string): boolean {
    return this.#names.size === 0 || this.#names.has(node);
  }

  #clientStarted(ctx: (CallTrace | CastTrace) & Marked, type: 'call' | 'cast'): void {
    if (!this.#watched(ctx.node)) return;
    ctx[this.#started] = performance.now();
    const balancerRaw = ctx.balancer ?? '';
    const tally = this.#startedTally;
    let entry = tally.get(ctx.node, type, ctx.module, ctx.function, balancerRaw);
    if (entry === undefined) {
      const l = this.#labels;
      const module = l.module.value(ctx.module);
      const fn = l.fn.value(ctx.function);
      const balancer = l.balancer.value(ctx.balancer);
      const values = [ctx.node, type, module, fn, balancer];
      entry = tally.entry(values.join('\0'), () => ({
        node: ctx.node,
        type,
        module,
        function: fn,
        balancer,
      }));
      if (module === ctx.module && fn === ctx.function) tally.remember(entry, values);
    }
    entry.n++;
  }

  #clientEnded(ctx: (CallTrace | CastTrace) & Marked, type: 'call' | 'cast'): void {
    const started = ctx[this.#started] as number | undefined;
    if (started === undefined) return;
    const status = outcomeStatus(ctx);
    const seconds = (performance.now() - started) / 1000;
    const target = ctx.target ?? '';
    const balancer = ctx.balancer ?? '';
    const tally = this.#callsTally;
    let entry =
      status === 'not_found'
        ? undefined
        : tally.get(ctx.node, type, ctx.module, ctx.function, balancer, target, status);
    entry ??= this.#callsEntry(ctx, type, status);
    entry.n++;
    this.#series.clientDuration.observe(entry.labels, seconds);
  }

  /** The slow path of {@link #clientEnded}: the label set as limited, remembered when within limits. */
  #callsEntry(ctx: CallTrace | CastTrace, type: string, status: string): TallyEntry {
    const known = status !== 'not_found';
    const l = this.#labels;
    const module = known ? l.module.value(ctx.module) : UNKNOWN_METHOD;
    const fn = known ? l.fn.value(ctx.function) : UNKNOWN_METHOD;
    const balancer = l.balancer.value(ctx.balancer);
    const target = l.node.value(ctx.target);
    const values = [ctx.node, type, module, fn, balancer, target, status];
    const entry = this.#callsTally.entry(values.join('\0'), () => ({
      node: ctx.node,
      type,
      module,
      function: fn,
      balancer,
      target,
      status,
    }));
    const raw = module === ctx.module && fn === ctx.function && target === (ctx.target ?? '');
    if (known && raw && balancer === (ctx.balancer ?? '')) this.#callsTally.remember(entry, values);
    return entry;
  }

  #attemptStarted(ctx: AttemptTrace): void {
    if (ctx.attempt < 2 || !this.#watched(ctx.node)) return;
    const l = this.#labels;
    const balancer = l.balancer.value(ctx.balancer);
    const module = l.module.value(ctx.module);
    const fn = l.fn.value(ctx.function);
    this.#tally('balancer_retries_total').add(`${ctx.node}\0${balancer}\0${module}\0${fn}`, () => ({
      node: ctx.node,
      balancer,
      module,
      function: fn,
    }));
  }

  #serveStarted(ctx: ServeTrace & Marked): void {
    if (this.#watched(ctx.node)) ctx[this.#started] = performance.now();
  }

  #serveEnded(ctx: ServeTrace & Marked): void {
    const started = ctx[this.#started] as number | undefined;
    if (started === undefined) return;
    const status = outcomeStatus(ctx);
    // A name a node does not expose came from the network: never a label value (nor a key).
    const known = status !== 'not_found';
    const type = ctx.isCast ? 'cast' : 'call';
    const node = ctx.node;
    const tally = this.#servedTally;
    let entry = known ? tally.get(node, type, ctx.module, ctx.function, status) : undefined;
    if (entry === undefined) {
      const module = known ? this.#labels.module.value(ctx.module) : UNKNOWN_METHOD;
      const fn = known ? this.#labels.fn.value(ctx.function) : UNKNOWN_METHOD;
      const values = [node, type, module, fn, status];
      entry = tally.entry(values.join('\0'), () => ({
        node,
        type,
        module,
        function: fn,
        status,
      }));
      // the duration histogram has no type label
      entry.timed ??= { node, module, function: fn, status };
      if (known && module === ctx.module && fn === ctx.function) tally.remember(entry, values);
    }
    entry.n++;
    if (!ctx.isCast && entry.timed !== undefined) {
      this.#series.serverDuration.observe(entry.timed, (performance.now() - started) / 1000);
    }
  }

  #selected(m: SelectionMessage): void {
    if (!this.#watched(m.node)) return;
    const tally = this.#selectionsTally;
    let entry = tally.get(m.node, m.balancer, m.algorithm, m.selected);
    if (entry === undefined) {
      const balancer = this.#labels.balancer.value(m.balancer);
      const target = this.#labels.node.value(m.selected);
      const values = [m.node, balancer, m.algorithm, target];
      entry = tally.entry(values.join('\0'), () => ({
        node: m.node,
        balancer,
        algorithm: m.algorithm,
        target,
      }));
      if (balancer === m.balancer && target === m.selected) tally.remember(entry, values);
    }
    entry.n++;
  }

  #selectedNone(m: EmptySelectionMessage): void {
    if (!this.#watched(m.node)) return;
    const balancer = this.#labels.balancer.value(m.balancer);
    this.#tally('balancer_empty_selections_total').add(
      `${m.node}\0${balancer}\0${m.algorithm}\0${m.reason}`,
      () => ({ node: m.node, balancer, algorithm: m.algorithm, reason: m.reason }),
    );
  }

  #peerUp(m: NodeUpMessage): void {
    if (!this.#watched(m.node)) return;
    const peer = this.#labels.node.value(m.peer);
    this.#tally('peer_up_total').add(`${m.node}\0${peer}`, () => ({ node: m.node, peer }));
  }

  #peerDown(m: NodeDownMessage): void {
    if (!this.#watched(m.node)) return;
    const peer = this.#labels.node.value(m.peer);
    this.#tally('peer_down_total').add(`${m.node}\0${peer}\0${m.reason}`, () => ({
      node: m.node,
      peer,
      reason: m.reason,
    }));
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
