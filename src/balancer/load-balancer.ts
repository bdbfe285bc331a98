/**
 * A named load balancer over the process group of the same name.
 *
 * The member list is a frozen, sorted snapshot replaced only when the group changes, so a pick
 * is one algorithm call on an array the algorithm may cache by identity. Connection tracking is
 * done with leases: each selection remembers the node's membership generation, so a release that
 * arrives after its node left (and maybe rejoined) is ignored instead of eating a newer count.
 */
import type {
  CallOutcome,
  NodeChange,
  SelectionAlgorithm,
  SelectOptions,
} from '../algorithms/types.js';
import { RpcError, type RpcErrorDetails } from '../errors.js';
import { describe } from '../options.js';
import type { CallOptions } from '../rpc/client.js';
import {
  attemptTimeout,
  NO_OPTIONS,
  randomDistinct,
  remaining,
  retryable,
  selectionOptions,
} from './call-policy.js';
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
  join(group: string): void;
  leave(group: string): void;
  members(group: string): readonly string[];
  /** Synchronous observer of group changes; returns the unsubscribe function. */
  observe(observer: (change: BalancerGroupChange) => void): () => void;
  /** Calls `target`; without `options`, with the node's default timeout (`callTimeoutMs`). */
  call(
    target: string,
    module: string,
    fn: string,
    args: unknown[],
    options?: CallOptions,
  ): Promise<unknown>;
  cast(target: string, module: string, fn: string, args: unknown[]): Promise<void>;
}

/** One selection, released exactly once. */
export interface Lease {
  /** The selected node. */
  readonly node: string;
  /** Ends the selection (idempotent; ignored once the node has left the group). */
  release(outcome?: CallOutcome): void;
}

export class LoadBalancer {
  /** The balancer's name (and its group's). */
  readonly name: string;
  readonly #host: BalancerHost;
  readonly #options: ResolvedBalancerOptions;
  readonly #algorithm: SelectionAlgorithm;
  readonly #direct: boolean;
  readonly #joined: boolean;
  readonly #generations = new Map<string, number>();
  #lastGeneration = 0;
  #members: readonly string[];
  #unobserve: () => void;
  #memberWaiters = new Set<() => void>();
  #inFlight = 0;
  #idleWaiters = new Set<() => void>();
  #stopping: Promise<void> | undefined;
  #onStopped: (() => void) | undefined;

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
    });
    if (typeof this.#algorithm?.chooseFromNodes !== 'function') {
      throw new TypeError(
        `option "selectionAlgorithm" must construct an object with chooseFromNodes(), received ${describe(this.#algorithm)}`,
      );
    }
    this.#unobserve = host.observe((change) => this.#onGroupChange(change));
    this.#joined = !this.#direct && matchesNode(this.#options.nodeMatchList, host.name);
    if (this.#joined) host.join(this.name);
    this.#members = host.members(this.name);
    for (const node of this.#members) this.#generations.set(node, ++this.#lastGeneration);
    if (this.#members.length > 0) {
      this.#algorithm.onNodeChange?.({
        type: 'join',
        nodes: this.#members,
        members: this.#members,
      });
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
    if (!Number.isInteger(count) || count < 0) {
      throw new RpcError(
        'bad_request',
        `count must be an integer >= 0, received ${describe(count)}`,
        {
          details: { balancer: this.name, field: 'count' },
        },
      );
    }
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
   * @throws RpcError `service_unavailable` when there are no members.
   */
  selectNode(opts: SelectOptions = NO_OPTIONS): string {
    if (this.#direct) return this.#host.name;
    const members = this.#members;
    if (members.length === 0 || this.#stopping) throw this.#unavailable();
    return this.#choose(members, opts);
  }

  /** Ends a selection made with {@link selectNode}. A release with nothing to release is ignored. */
  releaseNode(node: string, outcome?: CallOutcome): void {
    if (typeof node === 'string') this.#algorithm.releaseNode?.(node, outcome);
  }

  /** Selects a node and returns a lease whose `release()` counts once and only while the node is still a member. */
  acquire(opts: SelectOptions = NO_OPTIONS): Lease {
    const node = this.selectNode(opts);
    const generation = this.#generations.get(node);
    let released = false;
    return {
      node,
      release: (outcome?: CallOutcome) => {
        if (released) return;
        released = true;
        if (this.#direct || this.#generations.get(node) === generation)
          this.#algorithm.releaseNode?.(node, outcome);
      },
    };
  }

  /** Up to `count` distinct members, chosen by the algorithm (or at random). Not tracked: nothing to release. */
  selectNodes(count: number, opts: SelectOptions = NO_OPTIONS): string[] {
    if (!Number.isInteger(count) || count < 0) {
      throw new RpcError(
        'bad_request',
        `count must be an integer >= 0, received ${describe(count)}`,
        {
          details: { balancer: this.name, field: 'count' },
        },
      );
    }
    if (this.#direct) return count > 0 ? [this.#host.name] : [];
    const members = this.#members;
    if (members.length === 0) throw this.#unavailable();
    if (this.#algorithm.chooseNodes)
      return this.#algorithm.chooseNodes(members, Math.min(count, members.length), opts);
    return randomDistinct(members, count, this.#options.random);
  }

  /**
   * Selects a node, calls `module.fn(...args)` on it and releases the node whatever happens.
   * Waits for a member when there is none (within the timeout), and retries on another member
   * when a node refuses a call it did not run (draining, gone).
   */
  async call<T = unknown>(
    module: string,
    fn: string,
    args: unknown[] = [],
    opts: BalancedCallOptions = NO_OPTIONS,
  ): Promise<T> {
    const { timeout, signal, idempotent } = opts;
    const selectOpts = selectionOptions(opts);
    const callTimeout = timeout ?? this.#host.callTimeoutMs;
    const deadline = Date.now() + callTimeout;
    const tried: string[] = [];
    this.#inFlight++;
    try {
      for (let attempt = 1; ; attempt++) {
        const acquired = this.#acquireWaiting(selectOpts, deadline, signal, tried);
        const lease = acquired instanceof Promise ? await acquired : acquired;
        const started = this.#options.now();
        const attemptMs = attemptTimeout(callTimeout, deadline);
        try {
          const value = await this.#host.call(
            lease.node,
            module,
            fn,
            args,
            // the host's own default timeout is the node's callTimeoutMs: no options to check
            signal === undefined && attemptMs === this.#host.callTimeoutMs
              ? undefined
              : { timeout: attemptMs, signal },
          );
          lease.release({ ok: true, latencyMs: this.#options.now() - started });
          return value as T;
        } catch (err) {
          lease.release({ ok: false, latencyMs: this.#options.now() - started });
          if (!(err instanceof RpcError)) throw err;
          err.details.balancer = this.name;
          if (
            attempt >= this.#options.maxAttempts ||
            remaining(deadline) <= 1 ||
            !retryable(err, idempotent === true)
          )
            throw err;
          tried.push(lease.node);
        }
      }
    } finally {
      this.#callEnded();
    }
  }

  /** Selects a node and casts to it; the node is released once the cast is dispatched. */
  async cast(
    module: string,
    fn: string,
    args: unknown[] = [],
    opts: BalancedCallOptions = NO_OPTIONS,
  ): Promise<void> {
    const { timeout, signal } = opts;
    const selectOpts = selectionOptions(opts);
    const deadline = Date.now() + (timeout ?? this.#host.callTimeoutMs);
    this.#inFlight++;
    try {
      const lease = await this.#acquireWaiting(selectOpts, deadline, signal, []);
      try {
        await this.#host.cast(lease.node, module, fn, args);
      } catch (err) {
        if (err instanceof RpcError) err.details.balancer = this.name;
        throw err;
      } finally {
        lease.release();
      }
    } finally {
      this.#callEnded();
    }
  }

  /** Leaves the group (peers stop choosing this node), then waits for this balancer's calls in flight. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    if (this.#joined) this.#host.leave(this.name);
    for (const wake of this.#memberWaiters) wake();
    if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.#options.drainTimeoutMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#idleWaiters.add(done);
      });
    }
    this.#unobserve();
    this.#onStopped?.();
  }

  #choose(members: readonly string[], opts: SelectOptions): string {
    let node: string;
    try {
      node = this.#algorithm.chooseFromNodes(members, opts);
    } catch (err) {
      if (err instanceof RpcError) throw err;
      throw new RpcError('bad_request', `selection failed: ${(err as Error).message}`, {
        details: { balancer: this.name },
        cause: err,
      });
    }
    if (typeof node !== 'string') {
      throw new RpcError(
        'internal_server_error',
        `algorithm returned ${describe(node)} instead of a node name`,
        {
          details: { balancer: this.name },
        },
      );
    }
    return node;
  }

  /**
   * Acquires a lease, waiting for a member when allowed; prefers a node not yet tried.
   * Synchronous (a lease, or a thrown error) unless it has to wait: with members at hand, as
   * on almost every call, no promise is made and no microtask turn is spent.
   */
  #acquireWaiting(
    opts: SelectOptions,
    deadline: number,
    signal: AbortSignal | undefined,
    tried: string[],
  ): Lease | Promise<Lease> {
    if (this.#stopping) throw this.#unavailable('balancer_stopped');
    if (this.#members.length === 0 && !this.#direct) {
      return this.#acquireAfterWaiting(opts, deadline, signal, tried);
    }
    signal?.throwIfAborted();
    return this.#acquireUntried(opts, tried);
  }

  async #acquireAfterWaiting(
    opts: SelectOptions,
    deadline: number,
    signal: AbortSignal | undefined,
    tried: string[],
  ): Promise<Lease> {
    while (this.#members.length === 0 && !this.#direct) {
      if (!this.#options.waitForMembers || remaining(deadline) <= 0) throw this.#unavailable();
      await this.#waitForMembers(deadline, signal);
      if (this.#stopping) throw this.#unavailable('balancer_stopped');
    }
    signal?.throwIfAborted();
    return this.#acquireUntried(opts, tried);
  }

  #acquireUntried(opts: SelectOptions, tried: string[]): Lease {
    let lease = this.acquire(opts);
    // On a retry, re-select (releasing the rejected pick) a few times to avoid a node that
    // already refused; usually it has left the group by now and is not offered at all.
    for (
      let n = 0;
      n < 3 && tried.includes(lease.node) && this.#members.some((m) => !tried.includes(m));
      n++
    ) {
      lease.release();
      lease = this.acquire(opts);
    }
    return lease;
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
    // Generations are unique across the balancer's life, so a lease from before a leave can
    // never match the node's generation after it rejoins.
    for (const node of change.nodes) {
      if (change.type === 'join') this.#generations.set(node, ++this.#lastGeneration);
      else this.#generations.delete(node);
    }
    this.#members = this.#host.members(this.name);
    const event: NodeChange = { type: change.type, nodes: change.nodes, members: this.#members };
    this.#algorithm.onNodeChange?.(event);
    if (change.type === 'join') for (const wake of [...this.#memberWaiters]) wake();
  }

  #callEnded(): void {
    if (--this.#inFlight === 0) for (const wake of [...this.#idleWaiters]) wake();
  }

  #unavailable(reason = 'no_members'): RpcError {
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
