/**
 * The composition root: a named node wiring the transport, the RPC client and server, process
 * groups and load balancers together. Each layer sees the others only through narrow host
 * interfaces defined in its own folder. Incoming messages are routed by node-dispatch.ts, the
 * balancers kept by node-balancers.ts, the close sequence run by node-close.ts, and discovery
 * (with on-demand connections) wired by node-wiring.ts.
 */
import { EventEmitter } from 'node:events';
import { type InspectOptionsStylized, inspect as nodeInspect } from 'node:util';
import type { LeastLoaded } from './algorithms/least-loaded.js';
import type { LoadBalancer } from './balancer/load-balancer.js';
import type { AnyAlgorithmClass, BalancerOptionsFor } from './balancer/options.js';
import { emitContained } from './contained.js';
import { type DiscoveryDriver, messageOf } from './discovery/driver.js';
import { RpcError } from './errors.js';
import {
  type ClusterSnapshot,
  type InspectHost,
  type InspectOptions,
  inspectCluster,
  inspectNode,
  inspectPeer,
  type NodeSnapshot,
  SYSTEM_MODULE,
  systemModule,
} from './inspect.js';
import { GroupReplicator, type Groups } from './membership/groups.js';
import type { OnDemandConnections } from './membership/on-demand.js';
import { NodeBalancers } from './node-balancers.js';
import { closeBudget, closeGracefully } from './node-close.js';
import { linkOf, MessageRouter } from './node-dispatch.js';
import { type NodeFilter, randomTarget } from './node-filter.js';
import { makeInspectHost } from './node-inspect.js';
import {
  CAST_OPTION_NAMES,
  type CloseOptions,
  checkExposeOptions,
  type ExposeOptions,
  type NodeEvents,
  unknownCallOption,
} from './node-types.js';
import { wireDiscovery } from './node-wiring.js';
import type { ResolvedNodeOptions } from './options.js';
import { CALL_OPTION_NAMES } from './rpc/call.js';
import { type CallOptions, type CastOptions, RpcClient } from './rpc/client.js';
import { RpcLink } from './rpc/link.js';
import { type HandlerTable, RpcServer } from './rpc/server.js';
import { makeService, type Service, ServiceCache } from './service.js';
import type { Connection, DownReason } from './transport/connection.js';
import { Transport } from './transport/transport.js';

/** `destroy()` stops at once, but gives the discovery backend this long to deregister. */
const DISCOVERY_STOP_ON_DESTROY_MS = 1_000;

/**
 * A named node: listens for calls to the functions it exposes, calls other nodes, takes part
 * in process groups and runs load balancers. Create one with `startNode()` (node-start.ts).
 */
export class RpcNode extends EventEmitter<NodeEvents> {
  /** The node's name, unique in the cluster. */
  readonly name: string;
  /** Process groups replicated across the cluster (the `:pg` counterpart). */
  readonly groups: Groups;

  /** Private: it holds the cookie and any TLS key (see `[util.inspect.custom]` for what is shown). */
  readonly #options: ResolvedNodeOptions;
  readonly #replicator: GroupReplicator;
  readonly #transport: Transport;
  readonly #server: RpcServer;
  readonly #client: RpcClient;
  readonly #router: MessageRouter;
  readonly #balancers: NodeBalancers;
  readonly #inspectHost: InspectHost;
  /** Service objects by `target \0 module`, so `node.service(…)` in a loop builds nothing. */
  readonly #serviceObjects = new ServiceCache<CallOptions>();
  readonly #discovery: DiscoveryDriver;
  /** Set with `connections: 'on-demand'`. */
  readonly #onDemand: OnDemandConnections | undefined;
  #closing: Promise<void> | undefined;
  #closed = false;

  /** Nodes are made by `startNode()`. */
  private constructor(options: ResolvedNodeOptions) {
    super();
    this.#options = options;
    this.name = options.name;
    this.#transport = new Transport(options, {
      onUp: (peer, conn) => this.#onUp(peer, conn),
      onDown: (peer, conn, reason) => this.#onDown(peer, conn, reason),
      onClosed: (conn, reason) => this.#router.closed(conn, reason),
      onMessage: (conn, type, frame) => this.#router.route(conn, type, frame),
    });
    this.#server = new RpcServer({
      selfName: options.name,
      logger: options.logger,
      exposeErrorStacks: options.exposeErrorStacks,
    });
    this.#client = new RpcClient({
      selfName: options.name,
      defaultTimeoutMs: options.callTimeoutMs,
      captureCallSites: options.captureCallSites,
      logger: options.logger,
      server: this.#server,
      link: (peer) => linkOf(this.#transport.connection(peer)),
      waitForConnection: (peer, timeoutMs, signal) => {
        this.#onDemand?.dial(peer);
        return this.#transport
          .waitForConnection(peer, timeoutMs, signal)
          .then((c) => c !== undefined);
      },
    });
    this.#replicator = new GroupReplicator(options.name, {
      logger: options.logger,
      connections: () => this.#transport.connections(),
      connection: (peer) => this.#transport.connection(peer),
    });
    this.groups = this.#replicator;
    this.#router = new MessageRouter(options.logger, this.#client, this.#server, this.#replicator);
    this.#balancers = new NodeBalancers(options, this.#replicator, this.#client);
    this.#inspectHost = makeInspectHost({
      name: this.name,
      transport: this.#transport,
      replicator: this.#replicator,
      balancers: this.#balancers,
      server: this.#server,
      client: this.#client,
    });
    this.#server.exposeSystem(SYSTEM_MODULE, systemModule(this.#inspectHost));
    const wiring = wireDiscovery(options, this.#transport, this.#replicator, this.#client);
    this.#discovery = wiring.driver;
    this.#onDemand = wiring.onDemand;
  }

  /**
   * A plain, serialisable snapshot of this node: connected peers (state, advertised address,
   * last probe round trip, last reported load), process groups, load balancers (algorithm,
   * members with their calls in flight, calls, errors, recent latency percentiles, last
   * reported load) and calls in flight. Cheap enough to take every second.
   */
  inspect(): NodeSnapshot {
    return inspectNode(this.#inspectHost);
  }

  /**
   * The snapshot of connected node `peer`, fetched through the `$rpclb` system module (which
   * offers that snapshot and nothing else). Fails like a call: `service_unavailable` when not
   * connected, `request_timeout`, `not_found` for a peer of a release without `$rpclb`.
   */
  inspectPeer(peer: string, options?: InspectOptions): Promise<NodeSnapshot> {
    return inspectPeer(this.#inspectHost, peer, options);
  }

  /** This node's snapshot and every connected peer's, fetched in parallel; peers that fail are listed apart. */
  inspectCluster(options?: InspectOptions): Promise<ClusterSnapshot> {
    return inspectCluster(this.#inspectHost, options);
  }

  /** @internal Use `startNode()`: makes a node with resolved options and listens. */
  static async start(options: ResolvedNodeOptions): Promise<RpcNode> {
    const node = new RpcNode(options);
    await node.#transport.listen();
    node.#server.startLoadSampling();
    try {
      await node.#discovery.start();
    } catch (err) {
      await node.destroy();
      const kind = node.#discovery.discovery.kind ?? 'discovery';
      throw new RpcError('service_unavailable', `${kind} failed to start: ${messageOf(err)}`, {
        details: { reason: 'discovery_failed' },
        cause: err,
      });
    }
    return node;
  }

  /** The `host:port` this node listens on (on a wildcard host, e.g. `0.0.0.0:4370`). */
  get address(): string {
    return this.#transport.listenAddress;
  }

  /**
   * The `host:port` peers are told to reach this node at: `advertiseAddress`, else the listen
   * address when its host is specific, else derived from the name (see `advertiseAddress`).
   * Equal to {@link address} unless the node listens on a wildcard host or behind a proxy.
   */
  get advertisedAddress(): string {
    return this.#transport.advertisedAddress;
  }

  /** `true` once `close()` or `destroy()` was called. */
  get closing(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * What `console.log(node)` and `util.inspect(node)` show: name, address, peers and state.
   * Never the options, which hold the cookie and any TLS key.
   */
  [nodeInspect.custom](
    _depth: number,
    options: InspectOptionsStylized,
    show: typeof nodeInspect,
  ): string {
    const state = this.#closed ? 'closed' : this.#closing ? 'closing' : 'running';
    const view = { name: this.name, address: this.address, peers: this.peers(), state };
    return `RpcNode ${show(view, options)}`;
  }

  /**
   * Makes `functions` callable by other nodes as `module.<name>`. Only exposed functions can be
   * called. Exposing a module again replaces it.
   *
   * `options.schemas` checks arguments before a handler runs: per function, a Standard Schema
   * of the argument list (zod, valibot, arktype, ...; e.g. `z.tuple([z.number(), z.number()])`)
   * or an array of one schema per argument. Arguments it refuses fail the call with
   * `bad_request` (`details.reason: 'invalid_arguments'`, `details.issues` listing what is
   * wrong, where), and the handler does not run; arguments it accepts reach the handler as the
   * schema's output. Schemas are typed against the handlers' parameters.
   *
   * @example
   * ```ts
   * node.expose('Math', { add: (a: number, b: number) => a + b });
   * ```
   */
  expose<M extends HandlerTable>(module: string, functions: M, options?: ExposeOptions<M>): void {
    checkExposeOptions(module, options);
    this.#server.expose(module, functions, options?.schemas);
  }

  /** Stops exposing `module`; calls to it then fail with `not_found`. */
  unexpose(module: string): boolean {
    return this.#server.unexpose(module);
  }

  /** Connects to the node at `address` (`host:port`); resolves with its name. */
  connect(address: string): Promise<string> {
    return this.#transport.connect(address);
  }

  /** Names of connected nodes (not this one), sorted. */
  peers(): string[] {
    return this.#transport.peers();
  }

  /**
   * Calls `module.fn(...args)` on node `target` (this node's own name works too) and resolves
   * with its result. Fails with an `RpcError`; an abort through `signal` rejects with the
   * signal's reason.
   */
  call<T = unknown>(
    target: string,
    module: string,
    fn: string,
    args: unknown[] = [],
    options?: CallOptions,
  ): Promise<T> {
    const refused = unknownCallOption(options, CALL_OPTION_NAMES, target, module, fn);
    if (refused) return Promise.reject(refused);
    return this.#client.call(target, module, fn, args, options) as Promise<T>;
  }

  /**
   * Sends `module.fn(...args)` to `target` without waiting for a result; resolves once handed to
   * the transport. `options.meta` travels with it as with a call.
   */
  cast(
    target: string,
    module: string,
    fn: string,
    args: unknown[] = [],
    options?: CastOptions,
  ): Promise<void> {
    const refused = unknownCallOption(options, CAST_OPTION_NAMES, target, module, fn);
    if (refused) return Promise.reject(refused);
    return this.#client.cast(target, module, fn, args, options);
  }

  /**
   * A typed proxy for module `module` on node `target`: `service.fn(...args)` is
   * `node.call(target, module, 'fn', args)`, typed from the module's own type (no code
   * generation), so a wrong function name, argument or arity fails to compile and each result
   * is a `Promise` of the value the codec returns ({@link Decoded}). Per-call options through
   * `service.with({ timeout, signal, meta, onTrailer })`. The same object is returned for the
   * same target and module; its functions are built once, on first use.
   *
   * @typeParam M - the module's type, from a type-only import of the server's module.
   * @example
   * ```ts
   * const math = node.service<typeof import('./math.js').Math>('worker1@127.0.0.1', 'Math');
   * const sum: number = await math.add(1, 2);
   * ```
   */
  service<M>(target: string, module: string): Service<M, CallOptions> {
    const key = `${target}\0${module}`;
    const service =
      this.#serviceObjects.get(key) ??
      this.#serviceObjects.add(
        key,
        makeService(
          (fn, args, options) => this.call(target, module, fn, args, options),
          `${module} on ${target}`,
        ),
      );
    return service as Service<M, CallOptions>;
  }

  /**
   * Calls `module.fn(...args)` on a random node whose name matches `filter` (a substring, or a
   * RegExp tested against the name), among the connected nodes and this one: when this node
   * matches and is chosen, the call runs locally. Nodes carrying one of the node's
   * `excludedNodePatterns` match only a filter naming the pattern. With no node matching, fails
   * at once with `service_unavailable` (`details.reason: 'no_matching_node'`, not executed);
   * otherwise fails like {@link call}.
   *
   * @example
   * ```ts
   * const report = await node.callOnRandomNode('reports', 'Reports', 'build', [day]);
   * ```
   */
  callOnRandomNode<T = unknown>(
    filter: NodeFilter,
    module: string,
    fn: string,
    args: unknown[] = [],
    options?: CallOptions,
  ): Promise<T> {
    const target = this.#randomNode(filter, module, fn);
    if (target instanceof RpcError) return Promise.reject(target);
    return this.call<T>(target, module, fn, args, options);
  }

  /** Like {@link callOnRandomNode}, as a cast: resolves once handed to the transport. */
  castOnRandomNode(
    filter: NodeFilter,
    module: string,
    fn: string,
    args: unknown[] = [],
    options?: CastOptions,
  ): Promise<void> {
    const target = this.#randomNode(filter, module, fn);
    if (target instanceof RpcError) return Promise.reject(target);
    return this.cast(target, module, fn, args, options);
  }

  /** A random connected node (or this one) matching `filter`, or the error saying why none. */
  #randomNode(filter: unknown, module: string, fn: string): string | RpcError {
    const candidates = [...this.peers(), this.name];
    return randomTarget(filter, candidates, this.#options.excludedNodePatterns, module, fn);
  }

  /**
   * Starts a named load balancer: this node joins the group of that name (unless filtered out
   * by `nodeMatchList`), and the balancer picks a member for each call with its algorithm.
   * Throws a `TypeError` for bad options or a name already running on this node.
   *
   * @example
   * ```ts
   * const lb = await node.startLoadBalancer({ name: 'workers', selectionAlgorithm: algorithms.LeastConnections });
   * const result = await lb.call('Jobs', 'run', [spec]);
   * ```
   */
  async startLoadBalancer<C extends AnyAlgorithmClass = typeof LeastLoaded>(
    options: BalancerOptionsFor<C>,
  ): Promise<LoadBalancer<InstanceType<C>>> {
    if (this.#closing) {
      throw new RpcError('service_unavailable', `node ${this.name} is closing`, {
        details: { node: this.name },
      });
    }
    return this.#balancers.start(options);
  }

  /** The running load balancer named `name`, or `undefined`. */
  loadBalancer(name: string): LoadBalancer | undefined {
    return this.#balancers.get(name);
  }

  /**
   * Closes gracefully: stops load balancers and leaves all groups (so peers stop choosing this
   * node), refuses new calls with `service_unavailable`, waits for calls in flight (the
   * balancers' and those being served), says goodbye and closes every socket — all of it
   * within `drainTimeoutMs`, whatever each balancer's own `drainTimeoutMs`. Idempotent; does
   * not end the process.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => node.close({ drainTimeoutMs: 25_000 }));  // grace period 30 s
   * ```
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.#closing) return this.#closing;
    const budgetMs = closeBudget(options, this.#options.drainTimeoutMs);
    if (typeof budgetMs !== 'number') return Promise.reject(budgetMs);
    this.#closing = this.#gracefulClose(budgetMs);
    return this.#closing;
  }

  /** Stops at once: in-flight calls fail, no goodbye. Idempotent. */
  destroy(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#server.startDraining();
    this.#server.stopLoadSampling();
    this.#client.rejectAll(`node ${this.name} was destroyed`);
    this.#onDemand?.close();
    const discoveryStopped = this.#discovery.stop(DISCOVERY_STOP_ON_DESTROY_MS);
    this.#closing = Promise.all([this.#transport.destroy(), discoveryStopped]).then(() => {
      this.#closed = true;
      this.#emitContained('close');
    });
    return this.#closing;
  }

  /** The close sequence (node-close.ts), then the `close` event. */
  async #gracefulClose(budgetMs: number): Promise<void> {
    await closeGracefully(
      {
        logger: this.#options.logger,
        stopBalancers: (ms) => this.#balancers.stopWithin(ms),
        discovery: this.#discovery,
        groups: this.#replicator,
        server: this.#server,
        transport: this.#transport,
        dropPending: () => {
          this.#client.rejectAll(`node ${this.name} closed`);
          this.#onDemand?.close();
        },
      },
      budgetMs,
    );
    this.#closed = true;
    this.#emitContained('close');
  }

  #onUp(peer: string, conn: Connection): void {
    conn.session = new RpcLink(conn);
    this.#onDemand?.peerUp(peer);
    this.#replicator.onPeerUp(conn);
    this.#emitContained('nodeup', peer);
  }

  #onDown(peer: string, conn: Connection, reason: DownReason): void {
    const link = linkOf(conn);
    if (link) this.#server.onConnectionClosed(link);
    // Closed for idleness, the node is still a member: its registration speaks for it again.
    if (reason === 'idle' && this.#onDemand) this.#onDemand.idleClosed(peer);
    else {
      this.#replicator.onPeerDown(peer);
      this.#onDemand?.peerDown(peer, conn.peer?.incarnation);
    }
    this.#emitContained('nodedown', peer, reason);
  }

  /** Emits `event` with each listener contained (see `emitContained`). */
  #emitContained<K extends keyof NodeEvents>(event: K, ...args: NodeEvents[K]): void {
    emitContained(this, event, args, this.#options.logger);
  }
}
