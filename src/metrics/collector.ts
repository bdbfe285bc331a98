/**
 * The collector behind `registerMetrics`: it listens to the library's tracing and diagnostics
 * channels and keeps its own state per label set — a count, and for the timed series a
 * histogram cell — handed to prom-client when the registry is scraped. Gauges of a node's state
 * are read from `node.inspect()` at scrape time (gauges.ts).
 *
 * Cost per call is what matters here (every call and every served call passes through it): an
 * event finds its label set's entry by the raw label values, level by level, without building a
 * string or an object, then adds one to a count and observes one value into a fixed bucket
 * array. Label limits and the key strings are only consulted the first time a label set is seen.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { Registry } from 'prom-client';
import { DIAGNOSTICS_CHANNELS, type NodeDownMessage, type NodeUpMessage } from '../diagnostics.js';
import type { NodeSnapshot } from '../inspect.js';
import type { RpcNode } from '../node.js';
import { outcomeStatus } from '../trace-outcome.js';
import {
  type CallTrace,
  type CastTrace,
  type EmptySelectionMessage,
  type OutlierMessage,
  type ProbeMessage,
  type RetryMessage,
  type SelectionMessage,
  type ServeTrace,
  TRACING_CHANNELS,
} from '../tracing.js';
import { fillGauge } from './gauges.js';
import { createSeries, type Series, type SeriesName } from './series.js';
import { LabelLimit, Tally, type TallyEntry } from './tally.js';

/** The module and function label of a call that failed with `not_found` (names that came from the network). */
export const UNKNOWN_METHOD = '_OTHER';

/** What the collector is set up with (the checked options of `registerMetrics`). */
export interface CollectorOptions {
  readonly nodes: readonly RpcNode[];
  readonly prefix: string;
  readonly durationBuckets: readonly number[];
  readonly maxLabelValues: number;
}

type Marked = Record<symbol, unknown>;
type Subscription = [diagnosticsChannel.Channel, (message: unknown) => void];

export class Collector {
  readonly #registry: Registry;
  readonly #series: Series;
  readonly #nodes: readonly RpcNode[];
  readonly #names: ReadonlySet<string>;
  /** Where a call's start time is kept on its trace context (a symbol of this collector's). */
  readonly #started = Symbol('rpclb.metrics.started');
  /** Where a client call's `client_calls_started_total` entry is kept on its trace context. */
  readonly #startedEntry = Symbol('rpclb.metrics.startedEntry');
  readonly #subscriptions: Subscription[] = [];
  readonly #labels: Record<'module' | 'fn' | 'node' | 'balancer', LabelLimit>;
  readonly #tallies = new Map<string, Tally>();
  readonly #startedTally = this.#tally('client_calls_started_total');
  readonly #callsTally = this.#tally('client_calls_total');
  readonly #servedTally = this.#tally('server_calls_total');
  readonly #selectionsTally = this.#tally('balancer_selections_total');
  readonly #probesTally = this.#tally('balancer_probes_total');
  #snapshots: NodeSnapshot[] | undefined;
  #closed = false;

  constructor(registry: Registry, options: CollectorOptions) {
    this.#registry = registry;
    this.#nodes = options.nodes;
    this.#names = new Set(options.nodes.map((n) => n.name));
    const limit = () => new LabelLimit(options.maxLabelValues);
    this.#labels = { module: limit(), fn: limit(), node: limit(), balancer: limit() };
    this.#series = createSeries(registry, options.prefix, options.durationBuckets, {
      gauge: (name, gauge) => fillGauge(name, gauge, this.#snapshotsOfThisScrape()),
      counter: (name, counter) => this.#tally(name).writeTo(counter),
    });
  }

  enable(): void {
    const call = diagnosticsChannel.tracingChannel(TRACING_CHANNELS.call);
    const cast = diagnosticsChannel.tracingChannel(TRACING_CHANNELS.cast);
    const serve = diagnosticsChannel.tracingChannel(TRACING_CHANNELS.serve);
    const plain = (name: string) => diagnosticsChannel.channel(name);
    const on = <T>(channel: diagnosticsChannel.Channel, handler: (message: T) => void) =>
      this.#subscriptions.push([channel, handler as (message: unknown) => void]);
    on<CallTrace & Marked>(call.start, (ctx) => this.#clientStarted(ctx, 'call'));
    on<CallTrace & Marked>(call.asyncEnd, (ctx) => this.#callEnded(ctx));
    on<CastTrace & Marked>(cast.start, (ctx) => this.#clientStarted(ctx, 'cast'));
    on<CastTrace & Marked>(cast.asyncEnd, (ctx) => this.#clientEnded(ctx, 'cast'));
    on<ServeTrace & Marked>(serve.start, (ctx) => this.#serveStarted(ctx));
    on<ServeTrace & Marked>(serve.asyncEnd, (ctx) => this.#serveEnded(ctx));
    on<SelectionMessage>(plain(TRACING_CHANNELS.select), (m) => this.#selected(m));
    on<EmptySelectionMessage>(plain(TRACING_CHANNELS.selectEmpty), (m) => this.#selectedNone(m));
    on<RetryMessage>(plain(TRACING_CHANNELS.retry), (m) => this.#retryDecided(m));
    on<OutlierMessage>(plain(TRACING_CHANNELS.outlier), (m) => this.#outlier(m));
    on<ProbeMessage>(plain(TRACING_CHANNELS.probe), (m) => this.#probed(m));
    on<NodeUpMessage>(plain(DIAGNOSTICS_CHANNELS.nodeUp), (m) => this.#peerUp(m));
    on<NodeDownMessage>(plain(DIAGNOSTICS_CHANNELS.nodeDown), (m) => this.#peerDown(m));
    for (const [channel, handler] of this.#subscriptions) channel.subscribe(handler);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [channel, handler] of this.#subscriptions) channel.unsubscribe(handler);
    for (const name of this.#series.names) this.#registry.removeSingleMetric(name);
  }

  #tally(name: SeriesName): Tally {
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
    const tally = this.#startedTally;
    let entry = tally.get(ctx.node, type, ctx.module, ctx.function, ctx.balancer ?? '');
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
      if (module === ctx.module && fn === ctx.function) {
        tally.remember(entry, values);
        // where its calls' entries are found by target and status when they end
        entry.ends = new Map();
      }
    }
    entry.n++;
    ctx[this.#startedEntry] = entry;
  }

  #callEnded(ctx: CallTrace & Marked): void {
    if (!this.#clientEnded(ctx, 'call')) return;
    // a balanced call's retries, counted once it settled (its attempts are final then)
    if (ctx.attempts > 1 && ctx.balancer !== undefined) this.#retried(ctx);
  }

  /** Counts and times a call or cast that settled; `false` when it is not counted. */
  #clientEnded(ctx: (CallTrace | CastTrace) & Marked, type: 'call' | 'cast'): boolean {
    const started = ctx[this.#started] as number | undefined;
    if (started === undefined) return false;
    const seconds = (performance.now() - started) / 1000;
    const status = outcomeStatus(ctx);
    // the started entry's label set, then the target and status: two lookups
    const ends = (ctx[this.#startedEntry] as TallyEntry).ends;
    let entry = status === 'not_found' ? undefined : ends?.get(ctx.target ?? '')?.get(status);
    entry ??= this.#callsEntry(ctx, type, status, ends);
    entry.n++;
    this.#series.clientDuration.observe(entry.hist as NonNullable<TallyEntry['hist']>, seconds);
    return true;
  }

  /**
   * The slow path of {@link #clientEnded}: the label set as limited, remembered under the started
   * entry's `ends` when its values are the raw ones (within the limits).
   */
  #callsEntry(
    ctx: CallTrace | CastTrace,
    type: string,
    status: string,
    ends: TallyEntry['ends'],
  ): TallyEntry {
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
    entry.hist ??= this.#series.clientDuration.cell(entry.labels);
    if (known && ends !== undefined && target === (ctx.target ?? '')) {
      let byStatus = ends.get(target);
      if (byStatus === undefined) ends.set(target, (byStatus = new Map()));
      byStatus.set(status, entry);
    }
    return entry;
  }

  #retried(ctx: CallTrace): void {
    const l = this.#labels;
    const balancer = l.balancer.value(ctx.balancer);
    const module = l.module.value(ctx.module);
    const fn = l.fn.value(ctx.function);
    this.#tally('balancer_retries_total').add(
      `${ctx.node}\0${balancer}\0${module}\0${fn}`,
      () => ({ node: ctx.node, balancer, module, function: fn }),
      ctx.attempts - 1,
    );
  }

  #serveStarted(ctx: ServeTrace & Marked): void {
    if (this.#watched(ctx.node)) ctx[this.#started] = performance.now();
  }

  #serveEnded(ctx: ServeTrace & Marked): void {
    const started = ctx[this.#started] as number | undefined;
    if (started === undefined) return;
    const seconds = (performance.now() - started) / 1000;
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
      // casts are not timed; the duration histogram has no type label
      if (!ctx.isCast) {
        entry.hist ??= this.#series.serverDuration.cell({ node, module, function: fn, status });
      }
      if (known && module === ctx.module && fn === ctx.function) tally.remember(entry, values);
    }
    entry.n++;
    if (entry.hist !== undefined) this.#series.serverDuration.observe(entry.hist, seconds);
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

  #retryDecided(m: RetryMessage): void {
    if (!this.#watched(m.node)) return;
    const l = this.#labels;
    const balancer = l.balancer.value(m.balancer);
    const module = l.module.value(m.module);
    const fn = l.fn.value(m.function);
    const outcome = m.allowed ? 'allowed' : 'budget_exhausted';
    this.#tally('balancer_retry_decisions_total').add(
      `${m.node}\0${balancer}\0${module}\0${fn}\0${outcome}`,
      () => ({ node: m.node, balancer, module, function: fn, outcome }),
    );
  }

  #outlier(m: OutlierMessage): void {
    if (m.type !== 'eject' || !this.#watched(m.node)) return;
    const balancer = this.#labels.balancer.value(m.balancer);
    const member = this.#labels.node.value(m.member);
    const reason = m.reason ?? '';
    this.#tally('balancer_ejections_total').add(
      `${m.node}\0${balancer}\0${member}\0${reason}`,
      () => ({ node: m.node, balancer, member, reason }),
    );
  }

  #probed(m: ProbeMessage): void {
    if (!this.#watched(m.node)) return;
    const result = m.ok ? 'ok' : 'failed';
    const tally = this.#probesTally;
    let entry = tally.get(m.node, m.balancer, result);
    if (entry === undefined) {
      const balancer = this.#labels.balancer.value(m.balancer);
      const values = [m.node, balancer, result];
      entry = tally.entry(values.join('\0'), () => ({ node: m.node, balancer, result }));
      // only answered probes have a round trip
      if (m.ok) entry.hist ??= this.#series.probeDuration.cell({ node: m.node, balancer });
      if (balancer === m.balancer) tally.remember(entry, values);
    }
    entry.n++;
    if (entry.hist !== undefined && m.rttMs !== undefined) {
      this.#series.probeDuration.observe(entry.hist, m.rttMs / 1000);
    }
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
