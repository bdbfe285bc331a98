/** Load balancer options: types with defaults, validated once into a frozen copy. */
import type {
  AlgorithmContext,
  SelectionAlgorithm,
  SelectionAlgorithmClass,
  SelectOptions,
} from '../algorithms/types.js';
import { matchesFilter } from '../node-filter.js';
import { checkOptionNames, optionNames } from '../option-names.js';
import { describe, optionError } from '../options.js';
import type { CallMetadata } from '../rpc/envelope.js';
import type { OutlierDetectionOptions } from './outlier-options.js';
import { resolveOutlierDetection } from './outlier-options.js';
import type { RetryBudgetOptions } from './retry-budget.js';
import { type ResolvedSubset, resolveSubset, type SubsetOptions } from './subset-options.js';

/** Which nodes join a balancer's group: `'all'`, or entries matched against the node name. */
export type NodeMatchList = 'all' | readonly (string | RegExp)[];

/**
 * Options of `node.startLoadBalancer()`. `AlgorithmOptions` and `Algorithm` are inferred from
 * `selectionAlgorithm`, so `algorithmOpts` is checked against the algorithm's options and
 * `lb.algorithm` has the algorithm's type.
 */
export interface LoadBalancerOptions<
  AlgorithmOptions = Record<string, unknown>,
  Algorithm extends SelectionAlgorithm = SelectionAlgorithm,
> {
  /** The balancer's name, and the name of the process group it balances over. */
  name: string;
  /**
   * The algorithm class. `LeastLoaded` by default: it beat `LeastConnections` in every scenario
   * of the simulator and of `bench:balance` (see the algorithms page), as the contract asks of a
   * latency-aware default. @default algorithms.LeastLoaded
   */
  selectionAlgorithm?: SelectionAlgorithmClass<AlgorithmOptions, Algorithm>;
  /** Handed to the algorithm's constructor as `options`. @default {} */
  algorithmOpts?: AlgorithmOptions;
  /**
   * Whether this node joins the group: `'all'`, or a list where a string matches as a substring
   * of the node name and a RegExp by `test` (a node whose name carries one of the node's
   * `excludedNodePatterns` matches only an entry naming that pattern). A node filtered out
   * still selects from the others.
   * @default 'all'
   */
  nodeMatchList?: NodeMatchList;
  /** How long `stop()` waits for this balancer's calls in flight. @default 15 000 */
  drainTimeoutMs?: number;
  /** With no members, `lb.call`/`lb.cast` wait for one within the call's timeout. @default true */
  waitForMembers?: boolean;
  /** Attempts per `lb.call` when a node refuses a call it did not run (draining, gone). @default 3 */
  maxAttempts?: number;
  /** Random source for the algorithm (inject a seeded one for exact tests). @default Math.random */
  random?: () => number;
  /** Millisecond clock for the algorithm, latency outcomes, outlier detection and the retry budget. @default performance.now */
  now?: () => number;
  /**
   * Outlier ejection (passive health checking), for any algorithm: a member whose calls keep
   * failing in ways that say it is unhealthy (`service_unavailable`, `request_timeout`) is left
   * out of the members the algorithm chooses from for a while. `false` turns it off.
   * @default {} (on, with Envoy's defaults: 5 failures in a row eject for 30 s × times ejected,
   * at most 10 % of the members, none while fewer than half are healthy)
   */
  outlierDetection?: OutlierDetectionOptions | false;
  /**
   * A budget for `lb.call`'s retries (of calls that did not run, and of idempotent calls):
   * retries stay within `percentCanRetry` % of the calls plus `minRetriesPerSecond`, over
   * `ttlMs`. When it is spent, a call fails with its last real error. `false` turns it off.
   * @default {} (Finagle's: 20 % of calls + 10 per second, over 10 s)
   */
  retryBudget?: RetryBudgetOptions | false;
  /**
   * How long `lb.call` waits for the answers to the load probes an algorithm asks for before
   * its pick (`probeTargets`, e.g. `ProbingLeastLoaded`); the pick goes ahead without the ones
   * that have not answered. Within the call's own timeout.
   * @default 5
   */
  probeTimeoutMs?: number;
  /**
   * Deterministic subsetting: this node selects from (and so connects to) a window of about
   * `minAperture` members instead of all of them, and every member still gets the same share of
   * the calls of all the nodes doing the same. Its callers find each other in the group
   * `callersGroup(name)`. `true` is `{}`. Not with `HashRing` (a key must reach the same owner
   * from every caller). See the subsetting how-to.
   * @default false
   */
  subset?: boolean | SubsetOptions;
}

/** Any algorithm class, whatever its options (for inferring from the one given). */
export type AnyAlgorithmClass = new (context: never) => SelectionAlgorithm;

/** The options type of algorithm class `C` (its constructor's `context.options`). */
export type AlgorithmOptionsOf<C> = C extends new (
  context: AlgorithmContext<infer Options>,
) => SelectionAlgorithm
  ? Options
  : Record<string, unknown>;

/**
 * What `startLoadBalancer` takes for algorithm class `C` (inferred from `selectionAlgorithm`):
 * `algorithmOpts` checked against `C`'s options.
 */
export type BalancerOptionsFor<C extends AnyAlgorithmClass> = Omit<
  LoadBalancerOptions<AlgorithmOptionsOf<C>>,
  'selectionAlgorithm'
> & {
  /** The algorithm class. @default algorithms.LeastLoaded */
  selectionAlgorithm?: C;
};

/** The names `startLoadBalancer` accepts (typed: a field missing here fails the build). */
const BALANCER_OPTION_NAMES = optionNames({
  name: true,
  selectionAlgorithm: true,
  algorithmOpts: true,
  nodeMatchList: true,
  drainTimeoutMs: true,
  waitForMembers: true,
  maxAttempts: true,
  random: true,
  now: true,
  outlierDetection: true,
  retryBudget: true,
  probeTimeoutMs: true,
  subset: true,
} satisfies Record<keyof LoadBalancerOptions, true>);

export interface ResolvedBalancerOptions {
  readonly name: string;
  readonly algorithmOpts: Record<string, unknown>;
  readonly nodeMatchList: NodeMatchList;
  readonly drainTimeoutMs: number;
  readonly waitForMembers: boolean;
  readonly maxAttempts: number;
  readonly random: () => number;
  readonly now: () => number;
  readonly outlierDetection: OutlierDetectionOptions | false;
  readonly retryBudget: RetryBudgetOptions | false;
  readonly probeTimeoutMs: number;
  readonly subset: ResolvedSubset | false;
}

/**
 * `true` when `nodeName` should join under `list`: `'all'`, or an entry matching it (see
 * `matchesFilter`: a node carrying one of `excludedPatterns` matches only an entry naming it).
 */
export function matchesNode(
  list: NodeMatchList,
  nodeName: string,
  excludedPatterns: readonly string[] = [],
): boolean {
  if (list === 'all') return true;
  return list.some((entry) => matchesFilter(nodeName, entry, excludedPatterns));
}

export function resolveBalancerOptions(
  input: LoadBalancerOptions<unknown>,
): ResolvedBalancerOptions {
  if (typeof input !== 'object' || input === null) throw optionError('options', 'an object', input);
  checkOptionNames(input, BALANCER_OPTION_NAMES);
  if (typeof input.name !== 'string' || input.name.length === 0 || input.name.length > 255) {
    throw optionError('name', 'a non-empty string (at most 255 characters)', input.name);
  }
  const list = input.nodeMatchList ?? 'all';
  if (
    list !== 'all' &&
    !(Array.isArray(list) && list.every((e) => typeof e === 'string' || e instanceof RegExp))
  ) {
    throw optionError('nodeMatchList', "'all' or an array of strings and RegExps", list);
  }
  const algorithmOpts = input.algorithmOpts ?? {};
  if (typeof algorithmOpts !== 'object' || algorithmOpts === null) {
    throw optionError('algorithmOpts', 'an object', algorithmOpts);
  }
  const drainTimeoutMs = input.drainTimeoutMs ?? 15_000;
  if (typeof drainTimeoutMs !== 'number' || !(drainTimeoutMs >= 0)) {
    throw optionError('drainTimeoutMs', 'a number of ms >= 0', drainTimeoutMs);
  }
  const maxAttempts = input.maxAttempts ?? 3;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1)
    throw optionError('maxAttempts', 'an integer >= 1', maxAttempts);
  const waitForMembers = input.waitForMembers ?? true;
  if (typeof waitForMembers !== 'boolean')
    throw optionError('waitForMembers', 'a boolean', waitForMembers);
  for (const field of ['random', 'now'] as const) {
    if (input[field] !== undefined && typeof input[field] !== 'function') {
      throw optionError(field, 'a function', describe(input[field]));
    }
  }
  const outlierDetection = input.outlierDetection ?? {};
  // checked here, so a bad option fails startLoadBalancer naming the field
  if (outlierDetection !== false) resolveOutlierDetection(outlierDetection);
  const retryBudget = input.retryBudget ?? {};
  if (retryBudget !== false && (typeof retryBudget !== 'object' || retryBudget === null)) {
    throw optionError('retryBudget', 'an object or false', retryBudget);
  }
  const probeTimeoutMs = input.probeTimeoutMs ?? 5;
  if (typeof probeTimeoutMs !== 'number' || !(probeTimeoutMs > 0) || probeTimeoutMs > 60_000) {
    throw optionError('probeTimeoutMs', 'a number of ms from 1 to 60000', probeTimeoutMs);
  }
  return Object.freeze({
    name: input.name,
    subset: resolveSubset(input.subset),
    outlierDetection,
    retryBudget,
    probeTimeoutMs,
    algorithmOpts: algorithmOpts as Record<string, unknown>,
    nodeMatchList: list === 'all' ? 'all' : Object.freeze([...list]),
    drainTimeoutMs,
    waitForMembers,
    maxAttempts,
    random: input.random ?? Math.random,
    now: input.now ?? (() => performance.now()),
  });
}

/**
 * Options of `lb.call` / `lb.cast`: selection options (e.g. `key`), which reach the algorithm
 * unchanged, plus the call's own (`timeout`, `signal`, `idempotent`, `meta`, `onTrailer`),
 * which do not.
 */
export interface BalancedCallOptions extends SelectOptions {
  /** Milliseconds for the whole call, waiting for members and retries included. @default the node's callTimeoutMs */
  timeout?: number;
  /** Aborts the call (rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Metadata sent with the call (see `CallOptions.meta`); `lb.cast` sends it too. */
  meta?: CallMetadata;
  /** Called with the reply's trailer, when it carries one (see `CallOptions.onTrailer`). */
  onTrailer?: (trailer: CallMetadata) => void;
  /** The function is safe to run twice: also retry on another node after a lost connection or timeout. @default false */
  idempotent?: boolean;
  /**
   * With no members, wait for one within `timeout` (`true`) or fail at once with
   * `service_unavailable` (`false`): this call's choice over the balancer's `waitForMembers`
   * (rpc_load_balancer's per-call `retry?`). @default the balancer's `waitForMembers` (true)
   */
  waitForMembers?: boolean;
}
