/**
 * The algorithm's side of a balancer: the member snapshot, membership generations, the
 * algorithm instance and everything that guards it (containment of its exceptions, outlier
 * ejection in front of it, probes for it), and the per-member figures behind `inspect()`.
 *
 * The member list is a frozen, sorted snapshot replaced only when the group changes, so a pick
 * is one algorithm call on an array the algorithm may cache by identity. Each selection
 * remembers the node's membership generation, so a release that arrives after its node left
 * (and maybe rejoined) is ignored instead of eating a newer count.
 *
 * Everything the algorithm (user code) does is contained: an exception fails the selection it
 * belongs to with an `RpcError` and is logged (rate-limited), and never escapes into the node.
 */
import type {
  CallOutcome,
  NodeChange,
  SelectionAlgorithm,
  SelectionAlgorithmClass,
  SelectOptions,
  ServerLoad,
} from '../algorithms/types.js';
import { RpcError, type RpcErrorDetails } from '../errors.js';
import type { Logger } from '../logger.js';
import { describe } from '../options.js';
import {
  channels,
  type EmptySelectionMessage,
  type OutlierMessage,
  type SelectionMessage,
} from '../tracing.js';
import { NO_OPTIONS, randomDistinct } from './call-policy.js';
import { checkExclude, chooseAvoiding, ExclusionFilter } from './exclusion.js';
import { MemberStats } from './member-stats.js';
import {
  type OutlierDetectionOptions,
  OutlierDetector,
  type OutlierEvent,
} from './outlier-detector.js';

/** A selection: the node, its membership generation, and its figures for `inspect()`. */
export interface Selection {
  readonly node: string;
  readonly generation: number;
  /** The member's figures for `inspect()` (absent for `CallDirect`). */
  readonly stats?: MemberStats;
}

/** What a selector needs from its balancer. */
export interface SelectorHost {
  /** The balancer's name. */
  readonly balancer: string;
  /** The node's name. */
  readonly node: string;
  readonly logger: Logger;
  /** Sends a load probe to `target` for the algorithm (its answer goes to `deliverProbe`). */
  probe(target: string): void;
}

/** How a selector is set up. */
export interface SelectorOptions {
  readonly algorithmOpts: Record<string, unknown>;
  readonly random: () => number;
  readonly now: () => number;
  /** Outlier ejection in front of the algorithm, or `false`. */
  readonly outlierDetection: OutlierDetectionOptions | false;
}

/** A group change as the balancer observes it. */
export interface GroupChange {
  readonly type: 'join' | 'leave';
  readonly nodes: readonly string[];
  /** The full, sorted member list after it. */
  readonly members: readonly string[];
}

/** Per-pick exclusions in front of the algorithm: a subset's share quota (share-quota.ts). */
export interface PickQuota {
  /** What to leave out of the next pick besides `excluded` (`undefined`: nothing). */
  leftOut(
    excluded: readonly string[] | undefined,
  ): { readonly names: readonly string[]; readonly opts: SelectOptions } | undefined;
  /** Counts a pick. */
  picked(node: string): void;
}

/** Selections made with `selectNode` and not yet released, for one membership generation. */
interface ManualSelections {
  generation: number;
  count: number;
}

/** At most one log line per this many ms for a misbehaving algorithm. */
const ALGORITHM_LOG_INTERVAL_MS = 10_000;

const EMPTY: readonly string[] = Object.freeze([]);

export class Selector {
  readonly algorithm: SelectionAlgorithm;
  /** `true` for `CallDirect`: every selection is the local node, membership is not consulted. */
  readonly direct: boolean;
  /** Set by a balancer with subsetting while its window's shares differ. */
  quota: PickQuota | undefined;
  readonly #host: SelectorHost;
  readonly #random: () => number;
  readonly #detector: OutlierDetector | undefined;
  readonly #generations = new Map<string, number>();
  readonly #manual = new Map<string, ManualSelections>();
  /** Per-member figures for `inspect()`, one object per membership generation. */
  readonly #stats = new Map<string, MemberStats>();
  readonly #directSelection: Selection;
  readonly #exclusion = new ExclusionFilter();
  #lastGeneration = 0;
  #members: readonly string[] = EMPTY;
  #lastAlgorithmLog = Number.NEGATIVE_INFINITY;

  constructor(
    host: SelectorHost,
    options: SelectorOptions,
    algorithmClass: SelectionAlgorithmClass,
  ) {
    this.#host = host;
    this.#random = options.random;
    this.direct = (algorithmClass as { callsDirect?: boolean }).callsDirect === true;
    this.#directSelection = Object.freeze({ node: host.node, generation: 0 });
    this.algorithm = new algorithmClass({
      balancerName: host.balancer,
      options: this.direct ? { ...options.algorithmOpts, self: host.node } : options.algorithmOpts,
      random: options.random,
      now: options.now,
      probe: this.direct ? undefined : (node: string) => host.probe(node),
    });
    if (typeof this.algorithm?.chooseFromNodes !== 'function') {
      throw new TypeError(
        `option "selectionAlgorithm" must construct an object with chooseFromNodes(), received ${describe(this.algorithm)}`,
      );
    }
    this.#detector =
      options.outlierDetection === false || this.direct
        ? undefined
        : new OutlierDetector(options.outlierDetection, options.now, (event) =>
            this.#onOutlier(event),
          );
  }

  /** The current members: a frozen, sorted array of node names. */
  get members(): readonly string[] {
    return this.#members;
  }

  /** The algorithm's class name, for diagnostics. */
  get algorithmName(): string {
    return (this.algorithm as { constructor?: { name?: string } }).constructor?.name ?? 'anonymous';
  }

  /** Per-member figures, by node. */
  get stats(): ReadonlyMap<string, MemberStats> {
    return this.#stats;
  }

  /** `true` while `node` is a member. */
  isMember(node: string): boolean {
    return this.#generations.has(node);
  }

  /** The members ejected now (outlier detection), sorted. */
  ejected(): string[] {
    return this.#detector?.ejected() ?? [];
  }

  /** Adopts a group change (or the initial members, as a join). */
  onGroupChange(change: GroupChange): void {
    if (this.direct) {
      this.#members = change.members;
      return;
    }
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
    this.#members = change.members;
    this.#detector?.sync(change.members);
    if (change.nodes.length === 0) return;
    const event: NodeChange = { type: change.type, nodes: change.nodes, members: change.members };
    try {
      this.algorithm.onNodeChange?.(event);
    } catch (err) {
      this.#logAlgorithmError('onNodeChange', err);
    }
  }

  /**
   * One selection from the current members, ejected ones left out (no waiting). `now`: the
   * balancer clock's reading, when the caller has one. Throws `service_unavailable`
   * (`no_members`) when there is none, and the algorithm's failure as an `RpcError`.
   */
  select(opts: SelectOptions, now?: number): Selection {
    if (this.direct) return this.#directSelection;
    const members = this.#members;
    if (members.length === 0) throw this.unavailable('no_members');
    // ejected members are excluded per pick: the algorithm still sees them all (its state stays)
    const ejected = this.#detector?.ejectedFrom(members, now);
    if (ejected !== undefined) opts = this.#withEjected(opts, ejected);
    const quota = this.quota;
    // the quota's exclusions alone are well formed and leave a member: nothing to check
    let quotaOnly = false;
    if (quota !== undefined) {
      const given = opts;
      opts = this.#withQuota(opts, quota);
      quotaOnly = given === NO_OPTIONS && opts !== given && this.algorithm.honoursExclude === true;
    }
    let node: string;
    let counted = true;
    try {
      if (opts.exclude === undefined || quotaOnly) {
        node = this.algorithm.chooseFromNodes(members, opts);
      } else ({ node, counted } = this.#chooseExcluding(members, opts));
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
    quota?.picked(node);
    if (channels.select.hasSubscribers) {
      this.#publishSelection(node, members.length - (ejected?.length ?? 0));
    }
    // a node drawn outside the algorithm: generation -1, so its release never reaches it
    if (!counted) return { node, generation: -1, stats: undefined };
    const stats = this.#stats.get(node);
    stats?.selected();
    return { node, generation, stats };
  }

  /** `opts` with the ejected members added to its `exclude` (checked first: it is the caller's). */
  #withEjected(opts: SelectOptions, ejected: readonly string[]): SelectOptions {
    const exclude = checkExclude(opts.exclude, this.#host.balancer);
    return { ...opts, exclude: exclude === undefined ? ejected : [...exclude, ...ejected] };
  }

  /** `opts` with what the quota leaves out of this pick added to its `exclude`. */
  #withQuota(opts: SelectOptions, quota: PickQuota): SelectOptions {
    const exclude = checkExclude(opts.exclude, this.#host.balancer);
    const left = quota.leftOut(exclude);
    if (left === undefined) return opts;
    if (opts === NO_OPTIONS) return left.opts;
    return { ...opts, exclude: exclude === undefined ? left.names : [...exclude, ...left.names] };
  }

  /** A pick avoiding `opts.exclude` (see exclusion.ts); `all_excluded` when none is left. */
  #chooseExcluding(
    members: readonly string[],
    opts: SelectOptions,
  ): { node: string; counted: boolean } {
    const exclude = checkExclude(opts.exclude, this.#host.balancer);
    if (exclude === undefined) {
      return { node: this.algorithm.chooseFromNodes(members, opts), counted: true };
    }
    if (this.algorithm.honoursExclude === true) {
      // only whether one is left matters here: no filtered array (a subset's quota excludes
      // something on most picks)
      if (members.every((node) => exclude.includes(node))) throw this.unavailable('all_excluded');
      return { node: this.algorithm.chooseFromNodes(members, opts), counted: true };
    }
    const allowed = this.#exclusion.without(members, exclude);
    if (allowed.length === 0) throw this.unavailable('all_excluded');
    if (allowed === members) {
      return { node: this.algorithm.chooseFromNodes(members, opts), counted: true };
    }
    return chooseAvoiding(this.algorithm, members, opts, exclude, allowed, this.#random);
  }

  /** {@link select} for `selectNode`: counted, so that a manual release follows the lease rule. */
  selectManual(opts: SelectOptions): string {
    const selection = this.select(opts);
    // a node drawn outside the algorithm (generation -1) has nothing to release
    if (!this.direct && selection.generation !== -1) {
      const manual = this.#manual.get(selection.node);
      if (manual !== undefined && manual.generation === selection.generation) manual.count++;
      else this.#manual.set(selection.node, { generation: selection.generation, count: 1 });
    }
    return selection.node;
  }

  /** Ends a `selectNode` selection, if one of the node's current generation is outstanding. */
  releaseManual(node: string, outcome: CallOutcome | undefined): void {
    if (this.direct) return this.#tellRelease(node, outcome);
    const manual = this.#manual.get(node);
    if (manual === undefined || manual.generation !== this.#generations.get(node)) return;
    if (--manual.count === 0) this.#manual.delete(node);
    this.#stats.get(node)?.released(outcome);
    this.#detector?.record(node, outcome);
    this.#tellRelease(node, outcome);
  }

  /** Ends a selection, if its node is still the member it was. */
  release(selection: Selection, outcome: CallOutcome | undefined, now?: number): void {
    if (this.direct) return this.#tellRelease(selection.node, outcome);
    if (this.#generations.get(selection.node) !== selection.generation) return;
    selection.stats?.released(outcome);
    this.#detector?.record(selection.node, outcome, now);
    this.#tellRelease(selection.node, outcome);
  }

  /** Up to `count` distinct members, chosen by the algorithm (or at random). Not tracked. */
  selectMany(count: number, opts: SelectOptions): string[] {
    if (this.direct) return count > 0 ? [this.#host.node] : [];
    let members = this.#members;
    if (members.length === 0) throw this.unavailable('no_members');
    if (this.#detector !== undefined) members = this.#detector.filter(members);
    if (opts.exclude !== undefined) members = this.#excluding(members, opts.exclude);
    if (!this.algorithm.chooseNodes) return randomDistinct(members, count, this.#random);
    let nodes: unknown;
    try {
      nodes = this.algorithm.chooseNodes(members, Math.min(count, members.length), opts);
    } catch (err) {
      throw this.#algorithmFailed('chooseNodes', err);
    }
    if (!Array.isArray(nodes) || nodes.some((n) => typeof n !== 'string')) {
      throw this.#algorithmFailed('chooseNodes', new TypeError(`returned ${describe(nodes)}`));
    }
    return nodes as string[];
  }

  /** `true` when the algorithm may ask for probes before a pick (`probeTargets`). */
  get probesBeforePick(): boolean {
    return typeof this.algorithm.probeTargets === 'function';
  }

  /** The members the algorithm wants probed before its next pick (empty: pick now). */
  probeTargets(opts: SelectOptions, now?: number): readonly string[] {
    const members = this.#members;
    if (members.length === 0 || this.direct) return EMPTY;
    const ejected = this.#detector?.ejectedFrom(members, now);
    try {
      const targets = this.algorithm.probeTargets?.(members, opts) ?? EMPTY;
      if (!Array.isArray(targets)) return EMPTY;
      const exclude = opts.exclude;
      // excluded and ejected members are not probed (the algorithm saw them all, so its state
      // is kept)
      const left = (node: string) =>
        !(Array.isArray(exclude) && exclude.includes(node)) && !ejected?.includes(node);
      return (Array.isArray(exclude) && exclude.length > 0) || ejected !== undefined
        ? targets.filter(left)
        : targets;
    } catch (err) {
      this.#logAlgorithmError('probeTargets', err);
      return EMPTY;
    }
  }

  /**
   * The members `selectMany` chooses replicas from with `exclude`: without the excluded nodes,
   * unless the algorithm's `chooseNodes` skips them itself. Throws `bad_request` for a malformed
   * `exclude`, `service_unavailable` (`all_excluded`) when no member is left.
   */
  #excluding(members: readonly string[], exclude: unknown): readonly string[] {
    const names = checkExclude(exclude, this.#host.balancer);
    if (names === undefined) return members;
    const left = this.#exclusion.without(members, names);
    if (left.length === 0) throw this.unavailable('all_excluded');
    const algorithm = this.algorithm;
    return algorithm.honoursExclude === true && algorithm.chooseNodes !== undefined
      ? members
      : left;
  }

  /** Hands a probe's answer to the algorithm (if `node` is still a member). */
  deliverProbe(node: string, load: ServerLoad): void {
    const algorithm = this.algorithm;
    if (algorithm.onProbeResult === undefined || !this.#generations.has(node)) return;
    try {
      algorithm.onProbeResult(node, load);
    } catch (err) {
      this.#logAlgorithmError('onProbeResult', err);
    }
  }

  /** The `service_unavailable` error for a selection that found no member (or a stopped balancer). */
  unavailable(
    reason: 'no_members' | 'not_enough_members' | 'balancer_stopped' | 'all_excluded',
  ): RpcError {
    if (channels.selectEmpty.hasSubscribers) this.#publishEmpty(reason);
    const name = this.#host.balancer;
    const details: RpcErrorDetails = { balancer: name, reason };
    const message =
      reason === 'balancer_stopped'
        ? `load balancer ${name} is stopped`
        : reason === 'not_enough_members'
          ? `load balancer ${name} has only ${this.#members.length} members`
          : reason === 'all_excluded'
            ? `load balancer ${name}: every member is excluded from this selection`
            : `load balancer ${name} has no members`;
    return new RpcError('service_unavailable', message, { details, notExecuted: true });
  }

  #tellRelease(node: string, outcome: CallOutcome | undefined): void {
    const algorithm = this.algorithm;
    if (algorithm.releaseNode === undefined) return;
    try {
      algorithm.releaseNode(node, outcome);
    } catch (err) {
      this.#logAlgorithmError('releaseNode', err);
    }
  }

  #onOutlier(event: OutlierEvent): void {
    const { balancer, node: self, logger } = this.#host;
    if (event.type === 'eject') {
      logger.warn(
        `load balancer ${balancer}: member ${event.node} ejected for ${Math.round(event.durationMs / 1000)} s (${event.reason.replaceAll('_', ' ')}; ejection ${event.timesEjected})`,
      );
    } else {
      logger.info(`load balancer ${balancer}: member ${event.node} back from ejection`);
    }
    if (channels.outlier.hasSubscribers) {
      const { node: member, ...rest } = event;
      channels.outlier.publish({ node: self, balancer, member, ...rest } satisfies OutlierMessage);
    }
  }

  #publishSelection(selected: string, members: number): void {
    channels.select.publish({
      node: this.#host.node,
      balancer: this.#host.balancer,
      algorithm: this.algorithmName,
      selected,
      members,
    } satisfies SelectionMessage);
  }

  #publishEmpty(reason: string): void {
    channels.selectEmpty.publish({
      node: this.#host.node,
      balancer: this.#host.balancer,
      algorithm: this.algorithmName,
      reason,
    } satisfies EmptySelectionMessage);
  }

  /**
   * The error for a selection the algorithm could not make. A `TypeError` or `RangeError` says
   * the selection options were unusable (e.g. a bad `key`): `bad_request`. Anything else is a
   * bug in the algorithm: `internal_server_error`. Either way it is logged (rate-limited).
   */
  #algorithmFailed(method: string, err: unknown): RpcError {
    const balancer = this.#host.balancer;
    if (err instanceof RpcError) {
      err.details.balancer ??= balancer;
      if (channels.selectEmpty.hasSubscribers) {
        this.#publishEmpty(String(err.details.reason ?? err.code));
      }
      return err;
    }
    this.#logAlgorithmError(method, err);
    const message = err instanceof Error ? err.message : describe(err);
    const badInput = err instanceof TypeError || err instanceof RangeError;
    const reason = badInput ? 'selection_failed' : 'algorithm_error';
    if (channels.selectEmpty.hasSubscribers) this.#publishEmpty(reason);
    return new RpcError(
      badInput ? 'bad_request' : 'internal_server_error',
      `selection failed: ${method}() of balancer ${balancer} threw: ${message}`,
      { details: { balancer, reason }, cause: err, notExecuted: true },
    );
  }

  #logAlgorithmError(method: string, err: unknown): void {
    const now = Date.now();
    if (now - this.#lastAlgorithmLog < ALGORITHM_LOG_INTERVAL_MS) return;
    this.#lastAlgorithmLog = now;
    const text = err instanceof Error ? (err.stack ?? err.message) : describe(err);
    this.#host.logger.error(
      `algorithm of load balancer ${this.#host.balancer}: ${method}() threw (further errors within ${ALGORITHM_LOG_INTERVAL_MS / 1000} s are not logged): ${text}`,
    );
  }
}
