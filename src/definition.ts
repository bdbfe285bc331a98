/**
 * Module-style balancer definitions, the counterpart of rpc_load_balancer's
 * `use RpcLoadBalancer`: a balancer's name, algorithm and options (and, optionally, the type of
 * the module it serves) are written once, in a module every process imports; each process
 * starts it on its node and then calls through it from anywhere, without passing a balancer
 * around.
 *
 * @example
 * ```ts
 * // balancers.ts, imported by every process
 * export const Sessions = defineBalancer({
 *   name: 'sessions',
 *   selectionAlgorithm: algorithms.HashRing,
 *   algorithmOpts: { weight: 64 },
 *   module: moduleType<typeof import('./sessions.js').Sessions>('Sessions'),
 * });
 * // at startup: await Sessions.start(node);
 * // anywhere:   await Sessions.service.with({ key: userId }).get(userId);
 * ```
 */
import type { LeastLoaded } from './algorithms/least-loaded.js';
import type { SelectionAlgorithm, SelectOptions } from './algorithms/types.js';
import type { Lease, LoadBalancer } from './balancer/load-balancer.js';
import type {
  AnyAlgorithmClass,
  BalancedCallOptions,
  BalancerOptionsFor,
  LoadBalancerOptions,
} from './balancer/options.js';
import { RpcError } from './errors.js';
import type { RpcNode } from './node.js';
import type { NodeFilter } from './node-filter.js';
import type { CallOptions, CastOptions } from './rpc/client.js';
import { makeService, type Service } from './service.js';

/**
 * A module's name together with its type, for {@link defineBalancer}'s `module` option: made by
 * {@link moduleType}. The type exists only at compile time.
 */
export interface ModuleType<M> {
  /** The module's name, as the serving nodes expose it. */
  readonly name: string;
  /** Never set: carries `M` for the compiler. */
  readonly type?: M;
}

/**
 * Names module `name` with its type `M` (usually a type-only import of the server's module),
 * for {@link defineBalancer}'s `module` option.
 *
 * @example
 * ```ts
 * moduleType<typeof import('./math.js').Math>('Math');
 * ```
 */
export function moduleType<M>(name: string): ModuleType<M> {
  if (typeof name !== 'string' || name.length === 0) {
    throw new TypeError(
      `moduleType(name): name must be a non-empty string, received ${typeof name}`,
    );
  }
  return Object.freeze({ name });
}

/**
 * Options of {@link defineBalancer}: the balancer's own (`C`: the algorithm class, inferred from
 * `selectionAlgorithm`), and the module it serves.
 */
export type BalancerDefinitionOptions<C extends AnyAlgorithmClass, M> = BalancerOptionsFor<C> & {
  /**
   * The module the balancer's members serve, with its type (see {@link moduleType}): the
   * definition's `service` is then a typed proxy for it.
   * @default undefined (no `service`; `serviceOf<M>(module)` still works)
   */
  module?: ModuleType<M>;
};

/**
 * What `definition.start(node, overrides)` may change at run time: any balancer option but the
 * ones that make the definition what it is (name, algorithm and its options, module).
 */
export type DefinitionOverrides = Omit<
  LoadBalancerOptions,
  'name' | 'selectionAlgorithm' | 'algorithmOpts'
>;

/** The typed service of a definition: a proxy for its module, or `undefined` without one. */
export type DefinitionService<M> = [M] extends [undefined]
  ? undefined
  : Service<M, BalancedCallOptions>;

/**
 * A balancer defined once and started on this process's node (see {@link defineBalancer}).
 * Every function but `start` goes to the balancer started on this process; before `start`, or
 * after `stop`, they fail with `service_unavailable` (`details.reason: 'balancer_stopped'`).
 */
export class BalancerDefinition<
  M = undefined,
  Algorithm extends SelectionAlgorithm = SelectionAlgorithm,
> {
  /** The balancer's name (and its group's). */
  readonly name: string;
  /** The typed proxy for the definition's `module` (through the balancer), if it names one. */
  readonly service: DefinitionService<M>;
  readonly #options: LoadBalancerOptions<unknown>;
  #node: RpcNode | undefined;
  #balancer: LoadBalancer<Algorithm> | undefined;

  /** @internal Use {@link defineBalancer}. */
  constructor(options: BalancerDefinitionOptions<AnyAlgorithmClass, M>) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(
        `defineBalancer(options): options must be an object, received ${typeof options}`,
      );
    }
    const { module, ...balancerOptions } = options;
    if (typeof balancerOptions.name !== 'string' || balancerOptions.name.length === 0) {
      throw new TypeError('defineBalancer(options): option "name" must be a non-empty string');
    }
    this.name = balancerOptions.name;
    this.#options = Object.freeze(balancerOptions) as unknown as LoadBalancerOptions<unknown>;
    this.service = (
      module === undefined ? undefined : this.serviceOf<M>(module.name)
    ) as DefinitionService<M>;
  }

  /**
   * Starts the balancer on `node` (`node.startLoadBalancer` with the definition's options, and
   * `overrides` over them: rpc_load_balancer's `start_link(overrides)`, e.g. a `nodeMatchList`
   * or `drainTimeoutMs` set at run time); the definition's functions then use it. Throws a
   * `TypeError` while it runs on another node.
   */
  async start(node: RpcNode, overrides?: DefinitionOverrides): Promise<LoadBalancer<Algorithm>> {
    const running = this.#running();
    if (running !== undefined && this.#node !== node) {
      throw new TypeError(
        `balancer ${this.name} is already started on ${this.#node?.name}; stop it before starting it on ${node.name}`,
      );
    }
    if (running !== undefined) return running;
    if (overrides !== undefined && (typeof overrides !== 'object' || overrides === null)) {
      throw new TypeError(
        `start(node, overrides): overrides must be an object, received ${typeof overrides}`,
      );
    }
    for (const fixed of ['name', 'selectionAlgorithm', 'algorithmOpts', 'module']) {
      if (overrides !== undefined && Object.hasOwn(overrides, fixed)) {
        throw new TypeError(`start(node, overrides): "${fixed}" is fixed by the definition`);
      }
    }
    const options = overrides === undefined ? this.#options : { ...this.#options, ...overrides };
    const balancer = (await node.startLoadBalancer(
      options as BalancerOptionsFor<AnyAlgorithmClass>,
    )) as LoadBalancer<Algorithm>;
    this.#node = node;
    this.#balancer = balancer;
    return balancer;
  }

  /** Stops the balancer started on this process (see `lb.stop()`); nothing when none runs. */
  async stop(): Promise<void> {
    await this.#running()?.stop();
  }

  /** The balancer started on this process, while it runs (`balancer.algorithm` is typed). */
  get balancer(): LoadBalancer<Algorithm> | undefined {
    return this.#running();
  }

  /** The current members (sorted node names). */
  members(): readonly string[] {
    return this.#require().members();
  }

  /** Resolves once the balancer has at least `count` members (see `lb.waitForMembers`). */
  waitForMembers(
    count?: number,
    options?: { timeout?: number; signal?: AbortSignal },
  ): Promise<readonly string[]> {
    const balancer = this.#attempt();
    return balancer instanceof RpcError
      ? Promise.reject(balancer)
      : balancer.waitForMembers(count, options);
  }

  /** Selects a member (see `lb.selectNode`); release it with {@link releaseNode}. */
  selectNode(options?: SelectOptions): string {
    return this.#require().selectNode(options);
  }

  /** Ends a selection made with {@link selectNode}. */
  releaseNode(node: string): void {
    this.#running()?.releaseNode(node);
  }

  /** Selects a member and returns a lease (see `lb.acquire`). */
  acquire(options?: SelectOptions): Lease {
    return this.#require().acquire(options);
  }

  /** Calls `module.fn(...args)` on a member (see `lb.call`). */
  call<T = unknown>(
    module: string,
    fn: string,
    args?: unknown[],
    options?: BalancedCallOptions,
  ): Promise<T> {
    const balancer = this.#attempt();
    return balancer instanceof RpcError
      ? Promise.reject(balancer)
      : balancer.call<T>(module, fn, args, options);
  }

  /** Casts `module.fn(...args)` to a member (see `lb.cast`). */
  cast(module: string, fn: string, args?: unknown[], options?: BalancedCallOptions): Promise<void> {
    const balancer = this.#attempt();
    return balancer instanceof RpcError
      ? Promise.reject(balancer)
      : balancer.cast(module, fn, args, options);
  }

  /** `node.callOnRandomNode` on the node the balancer runs on. */
  callOnRandomNode<T = unknown>(
    filter: NodeFilter,
    module: string,
    fn: string,
    args?: unknown[],
    options?: CallOptions,
  ): Promise<T> {
    const balancer = this.#attempt();
    if (balancer instanceof RpcError) return Promise.reject(balancer);
    return (this.#node as RpcNode).callOnRandomNode<T>(filter, module, fn, args, options);
  }

  /** `node.castOnRandomNode` on the node the balancer runs on. */
  castOnRandomNode(
    filter: NodeFilter,
    module: string,
    fn: string,
    args?: unknown[],
    options?: CastOptions,
  ): Promise<void> {
    const balancer = this.#attempt();
    if (balancer instanceof RpcError) return Promise.reject(balancer);
    return (this.#node as RpcNode).castOnRandomNode(filter, module, fn, args, options);
  }

  /**
   * A typed proxy for `module` through this definition's balancer (whichever is running when a
   * call is made), like `lb.service<M>(module)`.
   */
  serviceOf<S>(module: string): Service<S, BalancedCallOptions> {
    return makeService<S, BalancedCallOptions>(
      (fn, args, options) => this.call(module, fn, args, options),
      `${module} through balancer definition ${this.name}`,
    );
  }

  #running(): LoadBalancer<Algorithm> | undefined {
    const balancer = this.#balancer;
    return balancer !== undefined && !balancer.stopped && this.#node?.closing !== true
      ? balancer
      : undefined;
  }

  /** The running balancer, or the error saying it is not running. */
  #attempt(): LoadBalancer<Algorithm> | RpcError {
    return this.#running() ?? this.#notRunning();
  }

  #require(): LoadBalancer<Algorithm> {
    const balancer = this.#attempt();
    if (balancer instanceof RpcError) throw balancer;
    return balancer;
  }

  #notRunning(): RpcError {
    return new RpcError(
      'service_unavailable',
      `load balancer ${this.name} is not running in this process (call start(node) first)`,
      { details: { balancer: this.name, reason: 'balancer_stopped' }, notExecuted: true },
    );
  }
}

/**
 * Defines a balancer once, in a module every process imports (the counterpart of
 * rpc_load_balancer's `use RpcLoadBalancer`): its name, algorithm and options, and optionally
 * the module it serves with that module's type. Each process calls `start(node)` once; then
 * `members()`, `selectNode()`, `call`, `cast`, `callOnRandomNode`, `castOnRandomNode` and the
 * typed `service` work from anywhere. Nothing starts on import.
 *
 * @example
 * ```ts
 * export const MathBalancer = defineBalancer({
 *   name: 'math',
 *   selectionAlgorithm: algorithms.LeastConnections,
 *   module: moduleType<typeof import('./math.js').MathModule>('Math'),
 * });
 * ```
 */
export function defineBalancer<C extends AnyAlgorithmClass = typeof LeastLoaded, M = undefined>(
  options: BalancerDefinitionOptions<C, M>,
): BalancerDefinition<M, InstanceType<C>> {
  return new BalancerDefinition<M, InstanceType<C>>(
    options as unknown as BalancerDefinitionOptions<AnyAlgorithmClass, M>,
  );
}
