/**
 * rpc-load-balancer: call functions on other Node.js processes over TCP, with process groups
 * and a pluggable load balancer choosing the target of every call.
 *
 * Public API only; importing this module has no side effects.
 */

/** The built-in algorithms' instance types (what `lb.algorithm` is, for a balancer using one). */
export type {
  CallDirect,
  HashRing,
  LeastConnections,
  LeastCpu,
  LeastLoaded,
  PowerOfTwo,
  ProbingLeastLoaded,
  Random,
  RoundRobin,
  WeightedRoundRobin,
} from './algorithms/index.js';
export {
  algorithms,
  type HashRingOptions,
  type InFlightAlgorithmOptions,
  isUnhealthyFailure,
  type LeastCpuOptions,
  type LeastLoadedOptions,
  type ProbingLeastLoadedOptions,
  type RoundRobinOptions,
  type SlowStartOptions,
  type WeightedRoundRobinOptions,
} from './algorithms/index.js';
export type {
  AlgorithmContext,
  CallOutcome,
  NodeChange,
  SelectionAlgorithm,
  SelectionAlgorithmClass,
  SelectOptions,
  ServerLoad,
} from './algorithms/types.js';

import type { SelectionAlgorithm } from './algorithms/types.js';
import { LoadBalancer as LoadBalancerClass } from './balancer/load-balancer.js';

export type { BalancedCallOptions, Lease } from './balancer/load-balancer.js';
/**
 * A named load balancer over the process group of the same name, started with
 * `node.startLoadBalancer()`. `Algorithm`: the type of `lb.algorithm`.
 */
export type LoadBalancer<Algorithm extends SelectionAlgorithm = SelectionAlgorithm> =
  LoadBalancerClass<Algorithm>;
/**
 * The class of load balancers, exported for `instanceof`; balancers are made by
 * `node.startLoadBalancer()`, so its type has no constructor to call.
 */
export const LoadBalancer: abstract new (...args: never[]) => LoadBalancer = LoadBalancerClass;
export type { LoadBalancerOptions, NodeMatchList } from './balancer/options.js';
export type {
  FailurePercentageOptions,
  OutlierDetectionOptions,
  SuccessRateOptions,
} from './balancer/outlier-options.js';
export type { RetryBudgetOptions } from './balancer/retry-budget.js';
export type { SubsetSnapshot } from './balancer/subset.js';
export {
  callersGroup,
  DEFAULT_MIN_APERTURE,
  type SubsetOptions,
} from './balancer/subset-options.js';
export {
  type ConnectionsOption,
  DEFAULT_IDLE_TIMEOUT_MS,
  type MeshConnectionsOptions,
  type OnDemandConnectionsOptions,
} from './connections-option.js';
export {
  type BalancerDefinition,
  type BalancerDefinitionOptions,
  type DefinitionOverrides,
  type DefinitionService,
  defineBalancer,
  type ModuleType,
  moduleType,
} from './definition.js';
export {
  type ConnectionDroppedMessage,
  DIAGNOSTICS_CHANNELS,
  type GroupChangeMessage,
  type NodeDownMessage,
  type NodeUpMessage,
} from './diagnostics.js';
export {
  DEFAULT_DNS_INTERVAL_MS,
  type DnsAddress,
  type DnsDiscoveryOptions,
  type DnsLookup,
  dnsDiscovery,
} from './discovery/dns.js';
export { seedDiscovery } from './discovery/seeds.js';
export type {
  DiscoveredNode,
  Discovery,
  DiscoveryFactory,
  DiscoveryHost,
} from './discovery/types.js';
export {
  ERROR_CODES,
  ERROR_REASONS,
  type RemoteErrorInfo,
  RpcError,
  type RpcErrorCode,
  type RpcErrorDetails,
  type RpcErrorReason,
} from './errors.js';
export {
  type BalancerSnapshot,
  type ClusterSnapshot,
  type GroupSnapshot,
  type InspectOptions,
  type LatencySnapshot,
  type LoadSnapshot,
  type MemberSnapshot,
  type NodeSnapshot,
  type PeerSnapshot,
  type RuntimeSnapshot,
  SYSTEM_MODULE,
  type UnreachableNode,
} from './inspect.js';
export type { Logger, LogLevel } from './logger.js';
export type { GroupEvent, GroupListener, Groups } from './membership/groups.js';
export { RpcNode } from './node.js';
export type { NodeFilter } from './node-filter.js';
export { startNode } from './node-start.js';
export type { CloseOptions, ExposeOptions, NodeEvents } from './node-types.js';
export type { NodeOptions } from './options.js';
export type { CallOptions, CastOptions } from './rpc/client.js';
export { type CallContext, currentCall } from './rpc/context.js';
export type { CallMetadata } from './rpc/envelope.js';
export type {
  ArgumentIssue,
  ArgumentsSchema,
  ModuleSchemas,
  StandardSchemaV1,
  StandardSchemaV1Issue,
  StandardSchemaV1Props,
  StandardSchemaV1Result,
} from './rpc/schema.js';
export type { Handler, HandlerTable } from './rpc/server.js';
export type {
  Decoded,
  RemoteFunction,
  ReservedServiceName,
  Service,
  ServiceFunctions,
} from './service.js';
export {
  type AttemptTrace,
  type CallTrace,
  type CastTrace,
  type EmptySelectionMessage,
  type OutlierMessage,
  type ProbeMessage,
  type RetryMessage,
  type SelectionMessage,
  type ServeTrace,
  TRACING_CHANNELS,
} from './tracing.js';
export type { DownReason } from './transport/connection.js';
