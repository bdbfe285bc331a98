/**
 * How a balancer follows its group: it joins it (when `nodeMatchList` lets this node in), keeps
 * the subset window when subsetting is on, and hands each change to the selector, waking the
 * calls that wait for a member when one joins. Stopping leaves the groups, then stops observing.
 */
import type { BalancerGroupChange, BalancerHost } from './balancer-host.js';
import { matchesNode, type ResolvedBalancerOptions } from './options.js';
import type { Selector } from './selector.js';
import { Subset } from './subset.js';

/** Who waits for members (the picker's calls and `lb.waitForMembers`). */
export interface MemberWaiters {
  /** A member joined, or the balancer is stopping: waiters look again. */
  wakeWaiters(): void;
}

export class GroupFeed {
  /** Deterministic subsetting, when on (see subset.ts). */
  readonly subset: Subset | undefined;
  readonly #host: BalancerHost;
  readonly #name: string;
  readonly #selector: Selector;
  readonly #waiters: MemberWaiters;
  readonly #joined: boolean;
  readonly #unobserve: () => void;

  constructor(
    host: BalancerHost,
    options: ResolvedBalancerOptions,
    selector: Selector,
    waiters: MemberWaiters,
  ) {
    this.#host = host;
    this.#name = options.name;
    this.#selector = selector;
    this.#waiters = waiters;
    // CallDirect has no members to subset: the option is ignored there
    if (options.subset !== false && !selector.direct) {
      this.subset = new Subset(host.name, options.name, options.subset);
    }
    this.#unobserve = host.observe((change) => this.#onGroupChange(change));
    this.#joined =
      !selector.direct && matchesNode(options.nodeMatchList, host.name, host.excludedNodePatterns);
    if (this.#joined) host.join(options.name);
    if (this.subset !== undefined) {
      host.join(this.subset.group);
      this.#updateSubset(this.subset);
    } else {
      const members = host.members(options.name);
      selector.onGroupChange({ type: 'join', nodes: members, members });
    }
  }

  /** The members this node selects from: the subset's window, else the whole group. */
  get members(): readonly string[] {
    return this.subset?.members ?? this.#selector.members;
  }

  /** Leaves the groups this balancer joined (peers stop choosing this node). */
  leave(): void {
    if (this.#joined) this.#host.leave(this.#name);
    if (this.subset !== undefined) this.#host.leave(this.subset.group);
  }

  /** Stops following group changes (the balancer has stopped). */
  stopObserving(): void {
    this.#unobserve();
  }

  #onGroupChange(change: BalancerGroupChange): void {
    const subset = this.subset;
    if (subset !== undefined && change.group === subset.group) return this.#updateSubset(subset);
    if (change.group !== this.#name) return;
    if (subset !== undefined) this.#updateSubset(subset);
    else {
      this.#selector.onGroupChange({
        type: change.type,
        nodes: change.nodes,
        members: this.#host.members(this.#name),
      });
    }
    if (change.type === 'join') this.#waiters.wakeWaiters();
  }

  /** Recomputes the window; the algorithm sees its changes as joins and leaves. */
  #updateSubset(subset: Subset): void {
    const host = this.#host;
    for (const change of subset.update(host.members(this.#name), host.members(subset.group))) {
      this.#selector.onGroupChange(change);
    }
    this.#selector.quota = subset.quota;
  }
}
