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
 * Those errors, the log lines and the trace messages are made in selection-report.ts.
 */
import type {
  CallOutcome,
  NodeChange,
  SelectionAlgorithm,
  SelectionAlgorithmClass,
  SelectOptions,
  ServerLoad,
} from '../algorithms/types.js';
import type { RpcError } from '../errors.js';
import { describe } from '../options.js';
import { channels } from '../tracing.js';
import { badChosenNodes, NO_OPTIONS, randomDistinct } from './call-policy.js';
import { checkExclude, chooseAvoiding, ExclusionFilter } from './exclusion.js';
import { MemberStats } from './member-stats.js';
import { type OutlierDetectionOptions, OutlierDetector } from './outlier-detector.js';
import {
  algorithmName,
  type ReportHost,
  SelectionReporter,
  type UnavailableReason,
} from './selection-report.js';

/** A selection: the node, its membership generation, and its figures for `inspect()`. */
export interface Selection {
  readonly node: string;
  readonly generation: number;
  /** The member's figures for `inspect()` (absent for `CallDirect`). */
  readonly stats?: MemberStats;
}

/** What a selector needs from its balancer: its names and logger, and probes. */
export interface SelectorHost extends ReportHost {
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

const EMPTY: readonly string[] = Object.freeze([]);

export class Selector {
  readonly algorithm: SelectionAlgorithm;
  /** `true` for `CallDirect`: every selection is the local node, membership is not consulted. */
  readonly direct: boolean;
  /** Set by a balancer with subsetting while its window's shares differ. */
  quota: PickQuota | undefined;
  readonly #host: SelectorHost;
  /** Errors, log lines and trace messages (selection-report.ts). */
  readonly #report: SelectionReporter;
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
    const report = new SelectionReporter(host, this.algorithm);
    this.#report = report;
    this.#detector =
      options.outlierDetection === false || this.direct
        ? undefined
        : new OutlierDetector(options.outlierDetection, options.now, (event) =>
            report.onOutlier(event),
          );
  }

  /** The current members: a frozen, sorted array of node names. */
  get members(): readonly string[] {
    return this.#members;
  }

  /** The algorithm's class name, for diagnostics. */
  get algorithmName(): string {
    return algorithmName(this.algorithm);
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
      this.#report.logAlgorithmError('onNodeChange', err);
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
      throw this.#report.algorithmFailed('chooseFromNodes', err);
    }
    const generation = this.#generations.get(node);
    if (generation === undefined) {
      throw this.#report.algorithmFailed(
        'chooseFromNodes',
        new Error(`it returned ${describe(node)}, which is not a member`),
      );
    }
    quota?.picked(node);
    if (channels.select.hasSubscribers) {
      this.#report.publishSelection(node, members.length - (ejected?.length ?? 0));
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
    const wanted = Math.min(count, members.length);
    let nodes: unknown;
    try {
      nodes = this.algorithm.chooseNodes(members, wanted, opts);
    } catch (err) {
      throw this.#report.algorithmFailed('chooseNodes', err);
    }
    // a plain Error: a wrong answer is the algorithm's fault (algorithm_error), not the caller's
    const wrong = badChosenNodes(nodes, members, wanted);
    if (wrong !== undefined) throw this.#report.algorithmFailed('chooseNodes', new Error(wrong));
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
      this.#report.logAlgorithmError('probeTargets', err);
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
      this.#report.logAlgorithmError('onProbeResult', err);
    }
  }

  /** The `service_unavailable` error for a selection that found no member (or a stopped balancer). */
  unavailable(reason: UnavailableReason): RpcError {
    return this.#report.unavailable(reason, this.#members.length);
  }

  #tellRelease(node: string, outcome: CallOutcome | undefined): void {
    const algorithm = this.algorithm;
    if (algorithm.releaseNode === undefined) return;
    try {
      algorithm.releaseNode(node, outcome);
    } catch (err) {
      this.#report.logAlgorithmError('releaseNode', err);
    }
  }
}
