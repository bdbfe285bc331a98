/**
 * The load balancers a node runs: starting one (its name free on this node, its algorithm a
 * class) with the `BalancerHost` the node gives every balancer (its groups and its RPC client),
 * finding one by name, and stopping them all within a close budget.
 */
import { LeastLoaded } from './algorithms/least-loaded.js';
import type { BalancerHost } from './balancer/balancer-host.js';
import { LoadBalancer } from './balancer/load-balancer.js';
import type {
  AnyAlgorithmClass,
  BalancerOptionsFor,
  LoadBalancerOptions,
} from './balancer/options.js';
import type { GroupReplicator } from './membership/groups.js';
import { optionError, type ResolvedNodeOptions } from './options.js';
import type { RpcClient } from './rpc/client.js';

/** The balancers running on one node, by name. */
export class NodeBalancers {
  readonly #balancers = new Map<string, LoadBalancer>();
  /** What each balancer sees of the node. */
  readonly #host: BalancerHost;

  constructor(options: ResolvedNodeOptions, replicator: GroupReplicator, client: RpcClient) {
    this.#host = {
      name: options.name,
      callTimeoutMs: options.callTimeoutMs,
      logger: options.logger,
      excludedNodePatterns: options.excludedNodePatterns,
      join: (group) => replicator.join(group),
      leave: (group) => replicator.leave(group),
      members: (group) => replicator.members(group),
      observe: (observer) => replicator.observe(observer),
      send: (attempt) => client.start(attempt),
      cast: (target, module, fn, args, opts, balancer) =>
        client.cast(target, module, fn, args, opts, balancer),
      probe: (target, timeoutMs) => client.probe(target, timeoutMs),
    };
  }

  /**
   * Starts a balancer (see `node.startLoadBalancer`). Throws a `TypeError` for bad options or a
   * name already running on this node.
   */
  start<C extends AnyAlgorithmClass = typeof LeastLoaded>(
    options: BalancerOptionsFor<C>,
  ): LoadBalancer<InstanceType<C>> {
    const name = (options as { name?: unknown } | undefined)?.name;
    if (typeof name === 'string' && this.#balancers.has(name)) {
      throw new TypeError(
        `a load balancer named "${name}" is already running on ${this.#host.name}`,
      );
    }
    const algorithm = options?.selectionAlgorithm ?? LeastLoaded;
    if (typeof algorithm !== 'function') {
      throw optionError('selectionAlgorithm', 'a class implementing SelectionAlgorithm', algorithm);
    }
    const lb = new LoadBalancer(
      this.#host,
      options as unknown as LoadBalancerOptions<unknown>,
      algorithm as NonNullable<LoadBalancerOptions['selectionAlgorithm']>,
    );
    this.#balancers.set(lb.name, lb);
    lb.onStopped = () => {
      if (this.#balancers.get(lb.name) === lb) this.#balancers.delete(lb.name);
    };
    return lb as LoadBalancer<InstanceType<C>>;
  }

  /** The running balancer named `name`, or `undefined`. */
  get(name: string): LoadBalancer | undefined {
    return this.#balancers.get(name);
  }

  /** The running balancers. */
  values(): IterableIterator<LoadBalancer> {
    return this.#balancers.values();
  }

  /** Stops every balancer, each waiting at most `budgetMs` for its calls in flight. */
  stopWithin(budgetMs: number): Promise<void>[] {
    return [...this.#balancers.values()].map((lb) => lb.stopWithin(budgetMs));
  }
}
