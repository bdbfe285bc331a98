/**
 * A named load balancer over the process group of the same name: the public API (select,
 * release, call, cast, stop, inspect). What happens around the algorithm itself — the member
 * snapshot, generations, containment, outlier ejection — is the `Selector`'s (selector.ts); how
 * a call gets its member (waiting for one, probing first, avoiding one that refused) is the
 * `Picker`'s (picker.ts); following the group and its subset is the `GroupFeed`'s
 * (group-feed.ts); what calls run with, retries within the budget included, is set up in
 * call-runner.ts, and a cast's select, send and release is balanced-cast.ts; the wait for calls
 * in flight when stopping is the `Drain`'s (drain.ts). What it needs from its node is the
 * `BalancerHost` (balancer-host.ts).
 */
import type { CallOutcome, SelectionAlgorithm, SelectOptions } from '../algorithms/types.js';
import { RpcError } from '../errors.js';
import { describe } from '../options.js';
import { makeService, type Service, ServiceCache } from '../service.js';
import { BalancedCall, type BalancedCallSpec, type CallRunner } from './balanced-call.js';
import { castToMember } from './balanced-cast.js';
import type { BalancerHost } from './balancer-host.js';
import { NO_OPTIONS, remaining } from './call-policy.js';
import { callSpec, defaultCallSpec, makeCallRunner, type RunnerParts } from './call-runner.js';
import { Drain } from './drain.js';
import { GroupFeed } from './group-feed.js';
import { type BalancerSnapshot, balancerSnapshot } from './member-stats.js';
import {
  type BalancedCallOptions,
  type LoadBalancerOptions,
  type ResolvedBalancerOptions,
  resolveBalancerOptions,
} from './options.js';
import { Picker } from './picker.js';
import { RetryBudget } from './retry-budget.js';
import { Selector } from './selector.js';
import { checkSubsetAlgorithm, type SubsetSnapshot } from './subset.js';

export type { BalancerGroupChange, BalancerHost } from './balancer-host.js';
export type { BalancedCallOptions } from './options.js';

export { PROBE_TIMEOUT_MS } from './picker.js';

/** One selection, released exactly once. */
export interface Lease {
  /** The selected node. */
  readonly node: string;
  /** Ends the selection (idempotent; ignored once the node has left the group). */
  release(outcome?: CallOutcome): void;
}

/**
 * A named load balancer over the process group of the same name. `Algorithm`: the type of its
 * algorithm instance (`lb.algorithm`), inferred from `selectionAlgorithm`.
 */
export class LoadBalancer<Algorithm extends SelectionAlgorithm = SelectionAlgorithm> {
  /** The balancer's name (and its group's). */
  readonly name: string;
  readonly #host: BalancerHost;
  readonly #options: ResolvedBalancerOptions;
  readonly #selector: Selector;
  readonly #picker: Picker;
  readonly #budget: RetryBudget | undefined;
  /** The group (and subset) this balancer follows. */
  readonly #feed: GroupFeed;
  /** What calls and casts run with (call-runner.ts, balanced-cast.ts). */
  readonly #parts: RunnerParts;
  readonly #runner: CallRunner;
  /** What a call with no options runs with (no allocation for it). */
  readonly #defaultSpec: BalancedCallSpec;
  /** Service objects by module, so `lb.service(…)` in a loop builds nothing. */
  readonly #serviceObjects = new ServiceCache<BalancedCallOptions>();
  #inFlight = 0;
  readonly #drain = new Drain();
  #stopping: Promise<void> | undefined;
  #onStopped: (() => void) | undefined;

  /** @internal Use `node.startLoadBalancer()`. */
  constructor(
    host: BalancerHost,
    input: LoadBalancerOptions<unknown>,
    algorithmClass: NonNullable<LoadBalancerOptions['selectionAlgorithm']>,
  ) {
    this.#host = host;
    const options = resolveBalancerOptions(input);
    if (options.subset !== false) checkSubsetAlgorithm(algorithmClass);
    this.#options = options;
    this.name = options.name;
    this.#selector = new Selector(
      {
        balancer: this.name,
        node: host.name,
        logger: host.logger,
        probe: (target) => this.#picker.probeForAlgorithm(target),
      },
      options,
      algorithmClass,
    );
    const lb = this;
    this.#picker = new Picker(
      {
        node: host.name,
        balancer: this.name,
        waitForMembers: options.waitForMembers,
        probeTimeoutMs: options.probeTimeoutMs,
        now: options.now,
        get stopping() {
          return lb.stopped;
        },
        probe: (target, timeoutMs) => host.probe(target, timeoutMs),
      },
      this.#selector,
    );
    this.#budget =
      options.retryBudget === false ? undefined : new RetryBudget(options.retryBudget, options.now);
    this.#parts = {
      host,
      options,
      picker: this.#picker,
      selector: this.#selector,
      budget: this.#budget,
      settled: () => this.#callEnded(),
    };
    this.#runner = makeCallRunner(this.#parts);
    this.#defaultSpec = defaultCallSpec(host.callTimeoutMs, options.waitForMembers);
    this.#feed = new GroupFeed(host, options, this.#selector, this.#picker);
  }

  /** @internal Called once when the balancer has stopped (frees its name on the node). */
  set onStopped(callback: () => void) {
    this.#onStopped = callback;
  }

  /**
   * The algorithm instance serving this balancer, typed as its class: e.g.
   * `lb.algorithm.snapshot()` (in-flight counts) on a `LeastConnections` balancer,
   * `lb.algorithm.shares(lb.members())` on a `HashRing` one.
   */
  get algorithm(): Algorithm {
    return this.#selector.algorithm as Algorithm;
  }

  /** `true` once `stop()` was called. */
  get stopped(): boolean {
    return this.#stopping !== undefined;
  }

  /**
   * The current members of the balancer's group: a frozen, sorted array of node names. With
   * subsetting, the ones this node selects from are {@link subset}'s window.
   */
  members(): readonly string[] {
    return this.#feed.members;
  }

  /**
   * With subsetting (option `subset`), this node's place among the balancer's callers and its
   * window: the members it selects from, each with the share of its calls it should get;
   * `undefined` without. Read-only and serialisable.
   *
   * @example
   * ```ts
   * const { callerIndex, callerCount, window } = lb.subset() ?? {};
   * ```
   */
  subset(): SubsetSnapshot | undefined {
    return this.#feed.subset?.snapshot();
  }

  /** The members outlier detection has ejected for now (sorted; empty when it is off). */
  ejected(): string[] {
    return this.#selector.ejected();
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
    while (this.members().length < count) {
      if (this.#stopping) throw this.#selector.unavailable('balancer_stopped');
      opts.signal?.throwIfAborted();
      if (remaining(deadline) <= 0) throw this.#selector.unavailable('not_enough_members');
      await this.#picker.waitForMembers(deadline, opts.signal, 'not_enough_members');
    }
    return this.members();
  }

  /**
   * Selects a node for one request. Synchronous. Whoever calls it must call
   * {@link releaseNode} when the request ends (ideally in `finally`); prefer {@link acquire}.
   * @throws RpcError `service_unavailable` when there are no members or the balancer is stopped.
   */
  selectNode(opts: SelectOptions = NO_OPTIONS): string {
    if (typeof opts !== 'object' || opts === null) throw this.#badOptions(opts);
    if (this.#stopping) throw this.#selector.unavailable('balancer_stopped');
    return this.#selector.selectManual(opts);
  }

  /**
   * Ends a selection made with {@link selectNode}. Like a lease, it counts only while the node
   * is still the member it was when selected: a release with nothing to release, or for a node
   * that left (and maybe rejoined) since, is ignored.
   */
  releaseNode(node: string, outcome?: CallOutcome): void {
    if (typeof node === 'string') this.#selector.releaseManual(node, outcome);
  }

  /** Selects a node and returns a lease whose `release()` counts once and only while the node is still a member. */
  acquire(opts: SelectOptions = NO_OPTIONS): Lease {
    if (typeof opts !== 'object' || opts === null) throw this.#badOptions(opts);
    if (this.#stopping) throw this.#selector.unavailable('balancer_stopped');
    const selection = this.#selector.select(opts);
    let released = false;
    return {
      node: selection.node,
      release: (outcome?: CallOutcome) => {
        if (released) return;
        released = true;
        this.#selector.release(selection, outcome);
      },
    };
  }

  /** Up to `count` distinct members, chosen by the algorithm (or at random). Not tracked: nothing to release. */
  selectNodes(count: number, opts: SelectOptions = NO_OPTIONS): string[] {
    if (!Number.isInteger(count) || count < 0) throw this.#badCount(count);
    if (typeof opts !== 'object' || opts === null) throw this.#badOptions(opts);
    if (this.#stopping && !this.#selector.direct) {
      throw this.#selector.unavailable('balancer_stopped');
    }
    return this.#selector.selectMany(count, opts);
  }

  /**
   * Selects a node, calls `module.fn(...args)` on it and releases the node whatever happens.
   * Waits for a member when there is none (within the timeout), and retries on another member
   * when a node refuses a call it did not run (draining, gone), within the retry budget.
   */
  call<T = unknown>(
    module: string,
    fn: string,
    args: unknown[] = [],
    opts: BalancedCallOptions = NO_OPTIONS,
  ): Promise<T> {
    let spec = this.#defaultSpec;
    if (opts !== NO_OPTIONS) {
      const { callTimeoutMs } = this.#host;
      const wait = this.#options.waitForMembers;
      const checked = callSpec(opts, callTimeoutMs, wait, this.name, module, fn);
      if (checked instanceof RpcError) return Promise.reject(checked);
      spec = checked;
    }
    const call = new BalancedCall(this.#runner, module, fn, args, spec);
    this.#inFlight++;
    const now = this.#options.now();
    this.#budget?.deposit(now);
    call.next(now);
    return call.promise as Promise<T>;
  }

  /**
   * A typed proxy for `module` through this balancer: `service.fn(...args)` is
   * `lb.call(module, 'fn', args)`, typed from the module's own type (no code generation), so a
   * wrong function name, argument or arity fails to compile and each result is a `Promise` of
   * the value the codec returns. Per-call options (`key`, `timeout`, `signal`, `meta`,
   * `idempotent`, `exclude`, …) through `service.with(options)`. The same object is returned
   * for the same module; its functions are built once, on first use.
   *
   * @typeParam M - the module's type, from a type-only import of the server's module.
   * @example
   * ```ts
   * const math = lb.service<typeof import('./math.js').Math>('Math');
   * const sum: number = await math.add(1, 2);
   * const keyed = await math.with({ key: 'user-42' }).add(3, 4);
   * ```
   */
  service<M>(module: string): Service<M, BalancedCallOptions> {
    const service =
      this.#serviceObjects.get(module) ??
      this.#serviceObjects.add(
        module,
        makeService(
          (fn, args, options) => this.call(module, fn, args, options),
          `${module} through load balancer ${this.name}`,
        ),
      );
    return service as Service<M, BalancedCallOptions>;
  }

  /** Selects a node and casts to it; the node is released once the cast is dispatched. */
  async cast(
    module: string,
    fn: string,
    args: unknown[] = [],
    opts: BalancedCallOptions = NO_OPTIONS,
  ): Promise<void> {
    // the same checks as lb.call: a bad timeout, signal or meta is a bad_request, never a TypeError
    const { callTimeoutMs } = this.#host;
    const spec = callSpec(opts, callTimeoutMs, this.#options.waitForMembers, this.name, module, fn);
    if (spec instanceof RpcError) throw spec;
    const deadline = Date.now() + spec.timeout;
    this.#inFlight++;
    try {
      await castToMember(this.#parts, module, fn, args, opts, deadline, spec.waitForMembers);
    } finally {
      this.#callEnded();
    }
  }

  /**
   * A plain, serialisable snapshot: the algorithm, the members with their selections in flight,
   * calls, errors, recent latency percentiles and last reported load, and the members ejected. Cheap enough to call every
   * second (the percentiles are computed here, not per call).
   */
  inspect(): BalancerSnapshot {
    return balancerSnapshot(
      {
        name: this.name,
        algorithm: this.#selector.algorithmName,
        stopped: this.stopped,
        ejected: this.#selector.ejected(),
      },
      this.#inFlight,
      this.#selector.members,
      this.#selector.stats,
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
    this.#drain.shorten(performance.now() + waitMs);
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#feed.leave();
    this.#picker.wakeWaiters();
    if (this.#inFlight > 0) await this.#drain.wait();
    this.#feed.stopObserving();
    this.#onStopped?.();
  }

  #callEnded(): void {
    if (--this.#inFlight === 0) this.#drain.idle();
  }

  /** `bad_request` for selection options that are not an object (`null`, a string, ...). */
  #badOptions(opts: unknown): RpcError {
    return new RpcError('bad_request', `options must be an object, received ${describe(opts)}`, {
      details: { balancer: this.name, field: 'options' },
      notExecuted: true,
    });
  }

  #badCount(count: unknown): RpcError {
    return new RpcError(
      'bad_request',
      `count must be an integer >= 0, received ${describe(count)}`,
      { details: { balancer: this.name, field: 'count' } },
    );
  }
}
