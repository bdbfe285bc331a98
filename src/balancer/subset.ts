/**
 * A balancer's deterministic subset: follows its group and its callers group, recomputes the
 * layout (aperture.ts) when either changes, and tells the selector how its window changed, so
 * the algorithm sees the window as its member list (joins and leaves as usual, its per-member
 * state kept for the members that stay). The window's shares are honoured per pick by a
 * {@link ShareQuota}.
 */
import { HashRing } from '../algorithms/hash-ring.js';
import type { SelectionAlgorithmClass } from '../algorithms/types.js';
import { type ApertureLayout, apertureLayout } from './aperture.js';
import type { GroupChange } from './selector.js';
import { ShareQuota } from './share-quota.js';
import { callersGroup, type ResolvedSubset } from './subset-options.js';

/** What `lb.subset()` returns: this caller's place and window. Plain and serialisable. */
export interface SubsetSnapshot {
  /** This node's position among the balancer's callers, sorted by name (0-based). */
  readonly callerIndex: number;
  /** How many nodes select from this balancer with subsetting (this one included). */
  readonly callerCount: number;
  /** The option in force. */
  readonly minAperture: number;
  /** Members of the balancer's group. */
  readonly memberCount: number;
  /**
   * The members this node selects from, sorted, each with the fraction of this node's calls it
   * should receive (`share`; they sum to 1). Members outside the window get none.
   */
  readonly window: readonly { readonly node: string; readonly share: number }[];
}

const EMPTY: readonly string[] = Object.freeze([]);

/**
 * Throws the configuration error for an algorithm that cannot work on a subset: `HashRing` (and
 * its subclasses), whose keys must reach the same owner from every caller.
 */
export function checkSubsetAlgorithm(algorithmClass: SelectionAlgorithmClass): void {
  if (algorithmClass === HashRing || algorithmClass.prototype instanceof HashRing) {
    throw new TypeError(
      'option "subset" cannot be used with algorithms.HashRing: each caller would hash keys over its own subset, so a key would not reach the same member from every node',
    );
  }
}

export class Subset {
  /** The callers group (see `callersGroup`). */
  readonly group: string;
  readonly #self: string;
  readonly #minAperture: number;
  #members: readonly string[] = EMPTY;
  #layout: ApertureLayout;
  #quota: ShareQuota | undefined;

  constructor(self: string, balancer: string, options: ResolvedSubset) {
    this.group = callersGroup(balancer);
    this.#self = self;
    this.#minAperture = options.minAperture;
    this.#layout = apertureLayout(EMPTY, EMPTY, self, this.#minAperture);
  }

  /** The balancer's group members as last seen (sorted, frozen). */
  get members(): readonly string[] {
    return this.#members;
  }

  /** The quota honouring the window's shares; `undefined` while they are all equal. */
  get quota(): ShareQuota | undefined {
    return this.#quota;
  }

  /**
   * Adopts the group's `members` and the `callers`, and returns the window's changes as the
   * selector should see them: the joins first (so the member list never empties on the way),
   * then the leaves; the last change's `members` is the new window.
   */
  update(members: readonly string[], callers: readonly string[]): GroupChange[] {
    this.#members = members;
    const previous = this.#layout;
    let layout = apertureLayout(members, callers, this.#self, this.#minAperture);
    const before = previous.members;
    if (sameNames(layout.members, before)) {
      // the same window keeps its array, so algorithms keep what they cached by its identity
      layout = { ...layout, members: before };
    }
    this.#layout = layout;
    if (!sameShares(layout.shares, previous.shares) || layout.members !== before) {
      this.#quota = ShareQuota.of(layout.members, layout.shares);
    }
    if (layout.members === before) return [];
    const after = layout.members;
    const joined = after.filter((node) => !before.includes(node));
    const left = before.filter((node) => !after.includes(node));
    const changes: GroupChange[] = [];
    if (joined.length > 0) {
      const union = left.length === 0 ? after : Object.freeze([...before, ...joined].sort());
      changes.push({ type: 'join', nodes: joined, members: union });
    }
    if (left.length > 0) changes.push({ type: 'leave', nodes: left, members: after });
    return changes;
  }

  /** This caller's place and window. */
  snapshot(): SubsetSnapshot {
    const { callerIndex, callerCount, members, shares } = this.#layout;
    return {
      callerIndex,
      callerCount,
      minAperture: this.#minAperture,
      memberCount: this.#members.length,
      window: members.map((node, i) => ({ node, share: shares[i] as number })),
    };
  }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((node, i) => node === b[i]);
}

function sameShares(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((share, i) => share === b[i]);
}
