/**
 * A named load balancer over the process group of the same name.
 *
 * The member list is a frozen, sorted snapshot replaced only when the group changes, so a pick
 * is one algorithm call on an array the algorithm may cache by identity. Connection tracking is
 * done with selections that remember the node's membership generation, so a release that
 * arrives after its node left (and maybe rejoined) is ignored instead of eating a newer count.
 *
 * Everything the algorithm (user code) does is contained: an exception fails the selection it
 * belongs to with an `RpcError` and is logged, and never escapes into the node.
 */
import type {
  CallOutcome,
  NodeChange,
  SelectionAlgorithm,
  SelectOptions,
  ServerLoad,
} from '../algorithms/types.js';
import { RpcError, type RpcErrorDetails } from '../errors.js';
import type { Logger } from '../logger.js';
import { describe } from '../options.js';
import { checkCallOptions, type OutgoingCall } from '../rpc/call.js';
import type { CastOptions } from '../rpc/client.js';
import { channels, type EmptySelectionMessage, type SelectionMessage, traced } from '../tracing.js';
import {
  type Attempt,
  BalancedCall,
  type BalancedCallSpec,
  type CallRunner,
  type Selection,
} from './balanced-call.js';
import { NO_OPTIONS, randomDistinct, remaining, selectionOptions } from './call-policy.js';
import { traceRefusedCast } from './cast-trace.js';
import { type BalancerSnapshot, balancerSnapshot, MemberStats } from './member-stats.js';
import {
  type BalancedCallOptions,
  type LoadBalancerOptions,
  matchesNode,
  type ResolvedBalancerOptions,
  resolveBalancerOptions,
} from './options.js';

export type { BalancedCallOptions } from './options.js';

/** A group change as the balancer observes it. */
export interface BalancerGroupChange {
  group: string;
  type: 'join' | 'leave';
  nodes: readonly string[];
}

/** What a balancer needs from its node. */
export interface BalancerHost {
  readonly name: string;
  readonly callTimeoutMs: number;
  readonly logger: Logger;
  join(group: string): void;
  leave(group: string): void;
  members(group: string): readonly string[];
  /** Synchronous observer of group changes; returns the unsubscribe function. */
  observe(observer: (change: BalancerGroupChange) => void): () => void;
  /** Hands an attempt to the RPC client (it ends through `attempt.end`). */
  send(attempt: OutgoingCall): void;
  /** Casts to `target`; `balancer` names this balancer in the cast's trace. */
  cast(
    target: string,
    module: string,
    fn: string,
    args: unknown[],
    options: CastOptions | undefined,
    balancer: string,
  ): Promise<void>;
  /** Asks `target` for its load (see `RpcClient.probe`). */
  probe(target: string, timeoutMs: number): Promise<ServerLoad>;
}

/** How long a probe an algorithm sent may take before it is dropped. */
export const PROBE_TIMEOUT_MS = 1_000;

/** One selection, released exactly once. */
export interface Lease {
  /** The selected node. */
  readonly node: string;
  /** Ends the selection (idempotent; ignored once the node has left the group). */
  release(outcome?: CallOutcome): void;
}

/** Selections made with `selectNode` and not yet released, for one membership generation. */
interface ManualSelections {
  generation: number;
  count: number;
}

/** At most one log line per this many ms for a misbehaving algorithm. */
const ALGORITHM_LOG_INTERVAL_MS = 10_000;

export class LoadBalancer {
  /** The balancer's name (and its group's). */
  readonly name: string;
  readonly #host: BalancerHost;
  readonly #options: ResolvedBalancerOptions;
  readonly #algorithm: SelectionAlgorithm;
  readonly #direct: boolean;
  readonly #joined: boolean;
  readonly #generations = new Map<string, number>();
  readonly #manual = new Map<string, ManualSelections>();
  /** Per-member figures for `inspect()`, one object per membership generation. */
  readonly #stats = new Map<string, MemberStats>();
  readonly #runner: CallRunner;
  /** What a call with no options runs with (no allocation for it). */
  readonly #defaultSpec: BalancedCallSpec;
  #lastGeneration = 0;
  #members: readonly string[];
  #unobserve: () => void;
  #memberWaiters = new Set<() => void>();
  #inFlight = 0;
  #idleWaiters = new Set<() => void>();
  #stopping: Promise<void> | undefined;
  #onStopped: (() => void) | undefined;
  #lastAlgorithmLog = Number.NEGATIVE_INFINITY;
  /** When `stop()` gives up waiting for calls in flight (`performance.now()` time). */
  #drainDeadline = Number.POSITIVE_INFINITY;
  #drainTimer: NodeJS.Timeout | undefined;
  #endDrain: (() => void) | undefined;

  /** @internal Use `node.startLoadBalancer()`. */
  constructor(
    host: BalancerHost,
    input: LoadBalancerOptions<unknown>,
    algorithmClass: NonNullable<LoadBalancerOptions['selectionAlgorithm']>,
  ) {
    this.#host = host;
    this.#options = resolveBalancerOptions(input);
    this.name = this.#options.name;
    this.#direct = (algorithmClass as { callsDirect?: boolean }).callsDirect === true;
    this.#algorithm = new algorithmClass({
      balancerName: this.name,
      options: this.#direct
        ? { ...this.#options.algorithmOpts, self: host.name }
        : this.#options.algorithmOpts,
      random: this.#options.random,
      now: this.#options.now,
      probe: this.#direct ? undefined : (node: string) => this.#probe(node),
    });
    if (typeof this.#algorithm?.chooseFromNodes !== 'function') {
      throw new TypeError(
        `option "selectionAlgorithm" must construct an object with chooseFromNodes(), received ${describe(this.#algorithm)}`,
      );
    }
    this.#runner = this.#makeRunner();
    this.#defaultSpec = Object.freeze({
      selectOpts: NO_OPTIONS,
      timeout: host.callTimeoutMs,
      signal: undefined,
      idempotent: false,
      meta: undefined,
      onTrailer: undefined,
    });
    this.#unobserve = host.observe((change) => this.#onGroupChange(change));
    this.#joined = !this.#direct && matchesNode(this.#options.nodeMatchList, host.name);
    if (this.#joined) host.join(this.name);
    this.#members = host.members(this.name);
    for (const node of this.#members) {
      this.#generations.set(node, ++this.#lastGeneration);
      this.#stats.set(node, new MemberStats());
    }
    if (this.#members.length > 0) {
      this.#tellAlgorithm({ type: 'join', nodes: this.#members, members: this.#members });
    }
  }

  /** @internal Called once when the balancer has stopped (frees its name on the node). */
  set onStopped(callback: () => void) {
    this.#onStopped = callback;
  }

  /** The algorithm instance serving this balancer (e.g. to read `LeastConnections` counters). */
  get algorithm(): SelectionAlgorithm {
    return this.#algorithm;
  }

  /** `true` once `stop()` was called. */
  get stopped(): boolean {
    return this.#stopping !== undefined;
  }

  /** The current members: a frozen, sorted array of node names. */
  members(): readonly string[] {
    return this.#members;
  }

  /**
   * Resolves with the members once there are at least `count` of them (cluster boot, tests).
   * Rejects with `service_unavailable` after `timeout` ms, or with the signal's reason.
   *
   * @example
   * ```ts
   * await lb.waitForMembers(3, { timeout: 5_000 });
   * ```
   */
  async waitForMembers(
    count = 1,
    opts: { timeout?: number; signal?: AbortSignal } = {},
  ): Promise<readonly string[]> {
    if (!Number.isInteger(count) || count < 0) throw this.#badCount(count);
    const deadline = Date.now() + (opts.timeout ?? this.#host.callTimeoutMs);
    while (this.#members.length < count) {
      if (this.#stopping) throw this.#unavailable('balancer_stopped');
      opts.signal?.throwIfAborted();
      if (remaining(deadline) <= 0) throw this.#unavailable('not_enough_members');
      await this.#waitForMembers(deadline, opts.signal, 'not_enough_members');
    }
    return this.#members;
  }

  /**
   * Selects a node for one request. Synchronous. Whoever calls it must call
   * {@link releaseNode} when the request ends (ideally in `finally`); prefer {@link acquire}.
   * @throws RpcError `service_unavailable` when there are no members or the balancer is stopped.
   */
  selectNode(opts: SelectOptions = NO_OPTIONS): string {
    const selection = this.#select(opts);
    if (!this.#direct) {
      const manual = this.#manual.get(selection.node);
      if (manual !== undefined && manual.generation === selection.generation) manual.count++;
      else this.#manual.set(selection.node, { generation: selection.generation, count: 1 });
    }
    return selection.node;
  }

  /**
   * Ends a selection made with {@link selectNode}. Like a lease, it counts only while the node
   * is still the member it was when selected: a release with nothing to release, or for a node
   * that left (and maybe rejoined) since, is ignored.
   */
  releaseNode(node: string, outcome?: CallOutcome): void {
    if (typeof node !== 'string') return;
    if (this.#direct) return this.#tellRelease(node, outcome);
    const manual = this.#manual.get(node);
    if (manual === undefined || manual.generation !== this.#generations.get(node)) return;
    if (--manual.count === 0) this.#manual.delete(node);
    this.#stats.get(node)?.released(outcome);
    this.#tellRelease(node, outcome);
  }

  /** Selects a node and returns a lease whose `release()` counts once and only while the node is still a member. */
  acquire(opts: SelectOptions = NO_OPTIONS): Lease {
    const selection = this.#select(opts);
    let released = false;
    return {
      node: selection.node,
      release: (outcome?: CallOutcome) => {
        if (released) return;
        released = true;
        this.#release(selection, outcome);
      },
    };
  }

  /** Up to `count` distinct members, chosen by the algorithm (or at random). Not tracked: nothing to release. */
  selectNodes(count: number, opts: SelectOptions = NO_OPTIONS): string[] {
    if (!Number.isInteger(count) || count < 0) throw this.#badCount(count);
    if (this.#direct) return count > 0 ? [this.#host.name] : [];
    if (this.#stopping) throw this.#unavailable('balancer_stopped');
    const members = this.#members;
    if (members.length === 0) throw this.#unavailable();
    if (!this.#algorithm.chooseNodes) return randomDistinct(members, count, this.#options.random);
    let nodes: unknown;
    try {
      nodes = this.#algorithm.chooseNodes(members, Math.min(count, members.length), opts);
    } catch (err) {
      throw this.#algorithmFailed('chooseNodes', err);
    }
    if (!Array.isArray(nodes) || nodes.some((n) => typeof n !== 'string')) {
      throw this.#algorithmFailed('chooseNodes', new TypeError(`returned ${describe(nodes)}`));
    }
    return nodes as string[];
  }

  /**
   * Selects a node, calls `module.fn(...args)` on it and releases the node whatever happens.
   * Waits for a member when there is none (within the timeout), and retries on another member
   * when a node refuses a call it did not run (draining, gone).
   */
  call<T = unknown>(
    module: string,
    fn: string,
    args: unknown[] = [],
    opts: BalancedCallOptions = NO_OPTIONS,
  ): Promise<T> {
    let spec = this.#defaultSpec;
    if (opts !== NO_OPTIONS) {
      const checked = checkCallOptions(opts, this.#host.callTimeoutMs, {
        balancer: this.name,
        module,
        function: fn,
      });
      if (checked instanceof RpcError) return Promise.reject(checked);
      spec = {
        selectOpts: selectionOptions(opts),
        timeout: checked.timeout,
        signal: checked.signal,
        idempotent: opts.idempotent === true,
        meta: checked.meta,
        onTrailer: checked.onTrailer,
      };
    }
    const call = new BalancedCall(this.#runner, module, fn, args, spec);
    this.#inFlight++;
    call.next();
    return call.promise as Promise<T>;
  }

  /** Selects a node and casts to it; the node is released once the cast is dispatched. */
  async cast(
    module: string,
    fn: string,
    args: unknown[] = [],
    opts: BalancedCallOptions = NO_OPTIONS,
  ): Promise<void> {
    const { timeout, signal, meta } = opts;
    const deadline = Date.now() + (timeout ?? this.#host.callTimeoutMs);
    this.#inFlight++;
    try {
      let selection: Selection;
      try {
        const selected = this.#selectWaiting(selectionOptions(opts), deadline, signal, undefined);
        selection = selected instanceof Promise ? await selected : selected;
      } catch (err) {
        if (traced(channels.cast))
          traceRefusedCast(this.#host.name, this.name, module, fn, meta, err);
        throw err;
      }
      const started = this.#options.now();
      try {
        await this.#host.cast(
          selection.node,
          module,
          fn,
          args,
          meta === undefined ? undefined : { meta },
          this.name,
        );
        this.#release(selection, { ok: true, latencyMs: this.#options.now() - started });
      } catch (err) {
        const outcome: CallOutcome = { ok: false, latencyMs: this.#options.now() - started };
        if (err instanceof RpcError) outcome.code = err.code;
        this.#release(selection, outcome);
        if (err instanceof RpcError) err.details.balancer = this.name;
        throw err;
      }
    } finally {
      this.#callEnded();
    }
  }

  /**
   * A plain, serialisable snapshot: the algorithm, the members with their selections in flight,
   * calls, errors, recent latency percentiles and last reported load. Cheap enough to call every
   * second (the percentiles are computed here, not per call).
   */
  inspect(): BalancerSnapshot {
    return balancerSnapshot(
      { name: this.name, algorithm: this.#algorithmName, stopped: this.stopped },
      this.#inFlight,
      this.#members,
      this.#stats,
      this.#options.now(),
    );
  }

  /** Leaves the group (peers stop choosing this node), then waits up to `drainTimeoutMs` for this balancer's calls in flight. Idempotent. */
  stop(): Promise<void> {
    return this.stopWithin(this.#options.drainTimeoutMs);
  }

  /**
   * @internal Like `stop()`, waiting at most `budgetMs` (and never longer than `drainTimeoutMs`):
   * `node.close()` passes what is left of its own budget. A later call with a shorter budget
   * shortens a wait already under way.
   */
  stopWithin(budgetMs: number): Promise<void> {
    const waitMs = Math.max(0, Math.min(budgetMs, this.#options.drainTimeoutMs));
    const deadline = performance.now() + waitMs;
    if (deadline < this.#drainDeadline) {
      this.#drainDeadline = deadline;
      if (this.#endDrain) this.#armDrainTimer();
    }
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    if (this.#joined) this.#host.leave(this.name);
    for (const wake of this.#memberWaiters) wake();
    if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => {
        this.#endDrain = resolve;
        this.#idleWaiters.add(resolve);
        this.#armDrainTimer();
      });
      clearTimeout(this.#drainTimer);
      this.#idleWaiters.delete(this.#endDrain as () => void);
      this.#endDrain = undefined;
    }
    this.#unobserve();
    this.#onStopped?.();
  }

  #armDrainTimer(): void {
    clearTimeout(this.#drainTimer);
    const waitMs = Math.max(0, this.#drainDeadline - performance.now());
    this.#drainTimer = setTimeout(this.#endDrain as () => void, waitMs);
  }

  #makeRunner(): CallRunner {
    const host = this.#host;
    const options = this.#options;
    return {
      name: this.name,
      node: host.name,
      maxAttempts: options.maxAttempts,
      now: options.now,
      select: (call) =>
        this.#selectWaiting(call.spec.selectOpts, call.deadline, call.spec.signal, call.tried),
      send: (attempt: Attempt) => host.send(attempt),
      release: (selection, outcome) => this.#release(selection, outcome),
      settled: () => this.#callEnded(),
    };
  }

  /** Sends a probe for the algorithm; the answer (if any) goes to its `onProbeResult`. */
  #probe(node: string): void {
    if (typeof node !== 'string' || this.#stopping) return;
    this.#host.probe(node, PROBE_TIMEOUT_MS).then(
      (load) => {
        const algorithm = this.#algorithm;
        if (algorithm.onProbeResult === undefined || !this.#generations.has(node)) return;
        try {
          algorithm.onProbeResult(node, {
            inFlight: load.inFlight,
            elu: load.elu,
            at: this.#options.now(),
          });
        } catch (err) {
          this.#logAlgorithmError('onProbeResult', err);
        }
      },
      () => {},
    );
  }

  /** One selection from the current members (no waiting). */
  #select(opts: SelectOptions): Selection {
    if (this.#direct) return { node: this.#host.name, generation: 0 };
    if (this.#stopping) throw this.#unavailable('balancer_stopped');
    const members = this.#members;
    if (members.length === 0) throw this.#unavailable();
    let node: string;
    try {
      node = this.#algorithm.chooseFromNodes(members, opts);
    } catch (err) {
      throw this.#algorithmFailed('chooseFromNodes', err);
    }
    const generation = this.#generations.get(node);
    if (generation === undefined) {
      throw this.#algorithmFailed(
        'chooseFromNodes',
        new Error(`it returned ${describe(node)}, which is not a member`),
      );
    }
    if (channels.select.hasSubscribers) this.#publishSelection(node, members.length);
    const stats = this.#stats.get(node);
    stats?.selected();
    return { node, generation, stats };
  }

  #publishSelection(selected: string, members: number): void {
    channels.select.publish({
      node: this.#host.name,
      balancer: this.name,
      algorithm: this.#algorithmName,
      selected,
      members,
    } satisfies SelectionMessage);
  }

  #publishEmpty(reason: string): void {
    channels.selectEmpty.publish({
      node: this.#host.name,
      balancer: this.name,
      algorithm: this.#algorithmName,
      reason,
    } satisfies EmptySelectionMessage);
  }

  /** The algorithm's class name, for diagnostics. */
  get #algorithmName(): string {
    return (
      (this.#algorithm as { constructor?: { name?: string } }).constructor?.name ?? 'anonymous'
    );
  }

  /**
   * A selection for a call, waiting for a member when allowed; prefers a node not yet tried.
   * Synchronous (a selection, or a thrown error) unless it has to wait: with members at hand,
   * as on almost every call, no promise is made and no microtask turn is spent.
   */
  #selectWaiting(
    opts: SelectOptions,
    deadline: number,
    signal: AbortSignal | undefined,
    tried: string[] | undefined,
  ): Selection | Promise<Selection> {
    if (this.#stopping) throw this.#unavailable('balancer_stopped');
    if (this.#members.length === 0 && !this.#direct) {
      return this.#selectAfterWaiting(opts, deadline, signal, tried);
    }
    signal?.throwIfAborted();
    return this.#selectUntried(opts, tried);
  }

  async #selectAfterWaiting(
    opts: SelectOptions,
    deadline: number,
    signal: AbortSignal | undefined,
    tried: string[] | undefined,
  ): Promise<Selection> {
    while (this.#members.length === 0 && !this.#direct) {
      if (!this.#options.waitForMembers || remaining(deadline) <= 0) throw this.#unavailable();
      await this.#waitForMembers(deadline, signal);
      if (this.#stopping) throw this.#unavailable('balancer_stopped');
    }
    signal?.throwIfAborted();
    return this.#selectUntried(opts, tried);
  }

  #selectUntried(opts: SelectOptions, tried: string[] | undefined): Selection {
    let selection = this.#select(opts);
    if (tried === undefined) return selection;
    // On a retry, re-select (releasing the rejected pick) a few times to avoid a node that
    // already refused; usually it has left the group by now and is not offered at all.
    for (
      let n = 0;
      n < 3 && tried.includes(selection.node) && this.#members.some((m) => !tried.includes(m));
      n++
    ) {
      this.#release(selection, undefined);
      selection = this.#select(opts);
    }
    return selection;
  }

  /** Ends a selection, if its node is still the member it was. */
  #release(selection: Selection, outcome: CallOutcome | undefined): void {
    if (this.#direct || this.#generations.get(selection.node) === selection.generation) {
      selection.stats?.released(outcome);
      this.#tellRelease(selection.node, outcome);
    }
  }

  #tellRelease(node: string, outcome: CallOutcome | undefined): void {
    const algorithm = this.#algorithm;
    if (algorithm.releaseNode === undefined) return;
    try {
      algorithm.releaseNode(node, outcome);
    } catch (err) {
      this.#logAlgorithmError('releaseNode', err);
    }
  }

  #tellAlgorithm(change: NodeChange): void {
    try {
      this.#algorithm.onNodeChange?.(change);
    } catch (err) {
      this.#logAlgorithmError('onNodeChange', err);
    }
  }

  #waitForMembers(
    deadline: number,
    signal: AbortSignal | undefined,
    reason = 'no_members',
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const finish = (err?: unknown) => {
        clearTimeout(timer);
        this.#memberWaiters.delete(wake);
        signal?.removeEventListener('abort', onAbort);
        if (err === undefined) resolve();
        else reject(err);
      };
      const wake = () => finish();
      const onAbort = () => finish(signal?.reason);
      const timer = setTimeout(() => finish(this.#unavailable(reason)), remaining(deadline));
      this.#memberWaiters.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #onGroupChange(change: BalancerGroupChange): void {
    if (change.group !== this.name || this.#direct) return;
    // Generations are unique across the balancer's life, so a selection from before a leave
    // can never match the node's generation after it rejoins.
    for (const node of change.nodes) {
      if (change.type === 'join') {
        this.#generations.set(node, ++this.#lastGeneration);
        this.#stats.set(node, new MemberStats());
      } else {
        this.#generations.delete(node);
        this.#manual.delete(node);
        this.#stats.delete(node);
      }
    }
    this.#members = this.#host.members(this.name);
    this.#tellAlgorithm({ type: change.type, nodes: change.nodes, members: this.#members });
    if (change.type === 'join') for (const wake of [...this.#memberWaiters]) wake();
  }

  #callEnded(): void {
    if (--this.#inFlight === 0) for (const wake of [...this.#idleWaiters]) wake();
  }

  /**
   * The error for a selection the algorithm could not make. A `TypeError` or `RangeError` says
   * the selection options were unusable (e.g. a bad `key`): `bad_request`. Anything else is a
   * bug in the algorithm: `internal_server_error`. Either way it is logged (rate-limited).
   */
  #algorithmFailed(method: string, err: unknown): RpcError {
    if (err instanceof RpcError) {
      err.details.balancer ??= this.name;
      if (channels.selectEmpty.hasSubscribers)
        this.#publishEmpty(String(err.details.reason ?? err.code));
      return err;
    }
    this.#logAlgorithmError(method, err);
    const message = err instanceof Error ? err.message : describe(err);
    const badInput = err instanceof TypeError || err instanceof RangeError;
    if (channels.selectEmpty.hasSubscribers) {
      this.#publishEmpty(badInput ? 'selection_failed' : 'algorithm_error');
    }
    return new RpcError(
      badInput ? 'bad_request' : 'internal_server_error',
      `selection failed: ${method}() of balancer ${this.name} threw: ${message}`,
      {
        details: { balancer: this.name, reason: badInput ? 'selection_failed' : 'algorithm_error' },
        cause: err,
        notExecuted: true,
      },
    );
  }

  #logAlgorithmError(method: string, err: unknown): void {
    const now = Date.now();
    if (now - this.#lastAlgorithmLog < ALGORITHM_LOG_INTERVAL_MS) return;
    this.#lastAlgorithmLog = now;
    const text = err instanceof Error ? (err.stack ?? err.message) : describe(err);
    this.#host.logger.error(
      `algorithm of load balancer ${this.name}: ${method}() threw (further errors within ${ALGORITHM_LOG_INTERVAL_MS / 1000} s are not logged): ${text}`,
    );
  }

  #badCount(count: unknown): RpcError {
    return new RpcError(
      'bad_request',
      `count must be an integer >= 0, received ${describe(count)}`,
      {
        details: { balancer: this.name, field: 'count' },
      },
    );
  }

  #unavailable(reason = 'no_members'): RpcError {
    if (channels.selectEmpty.hasSubscribers) this.#publishEmpty(reason);
    const details: RpcErrorDetails = { balancer: this.name, reason };
    const message =
      reason === 'balancer_stopped'
        ? `load balancer ${this.name} is stopped`
        : reason === 'not_enough_members'
          ? `load balancer ${this.name} has only ${this.#members.length} members`
          : `load balancer ${this.name} has no members`;
    return new RpcError('service_unavailable', message, { details, notExecuted: true });
  }
}
