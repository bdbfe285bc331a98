/**
 * The process-group membership table: who is in which group, as far as this node knows.
 *
 * Pure bookkeeping (no I/O, no timers, no events) so the replication layer can drive it and
 * tests can check it exhaustively. Each node is the only authority on its own memberships: we
 * count our own joins, and hold for every peer whatever that peer last told us (a full `sync`
 * on connect, absolute-count `delta`s after). Every mutator returns the visible changes it
 * caused, and those changes alone are enough to rebuild {@link MembershipTable.members} — that
 * is the contract monitors and balancers rely on.
 */

/** One visible change to a group's member list, caused by a single table operation. */
export type GroupChange = {
  /** The group whose member list changed. */
  group: string;
  /** Whether `nodes` became members (`join`) or stopped being members (`leave`). */
  type: 'join' | 'leave';
  /** The node(s) that transitioned. Never empty; a node never appears in two changes of one call. */
  nodes: readonly string[];
};

/** Shared so that every unknown or empty group answers with the same identity. */
const EMPTY: readonly string[] = Object.freeze([]);

/**
 * Membership of process groups across the cluster, with stable snapshots for the hot path.
 *
 * @example
 * ```ts
 * const table = new MembershipTable('a@host');
 * table.joinLocal('workers'); // [{ group: 'workers', type: 'join', nodes: ['a@host'] }]
 * table.applySync('b@host', { workers: 2 });
 * table.members('workers'); // ['a@host', 'b@host'] (frozen, same object until it changes)
 * table.dropPeer('b@host'); // [{ group: 'workers', type: 'leave', nodes: ['b@host'] }]
 * ```
 */
export class MembershipTable {
  /** This node's name; only the `*Local` methods may change its counts. */
  readonly selfName: string;
  /** node -> group -> join count (> 0). Absent means "not a member", so nothing stores zeros. */
  readonly #counts = new Map<string, Map<string, number>>();
  /** group -> distinct member nodes (non-empty); derived from #counts, kept for O(1) updates. */
  readonly #members = new Map<string, Set<string>>();
  /** group -> frozen sorted snapshot; dropped when the group changes and rebuilt on demand. */
  readonly #snapshots = new Map<string, readonly string[]>();

  /** @param selfName this node's name, as peers know it. */
  constructor(selfName: string) {
    assertName('selfName', selfName);
    this.selfName = selfName;
  }

  /**
   * Joins `group` locally. Joins count: joining twice needs two {@link leaveLocal} calls.
   *
   * @returns a `join` of this node when it was not yet a member, else `[]`.
   * @throws TypeError when `group` is not a non-empty string.
   */
  joinLocal(group: string): GroupChange[] {
    assertName('group', group);
    return this.#set(this.selfName, group, this.localCount(group) + 1);
  }

  /**
   * Undoes one local join of `group`. Leaving a group not joined is a no-op (check
   * {@link localCount} first if the caller needs to report it).
   *
   * @returns a `leave` of this node when its last join was undone, else `[]`.
   * @throws TypeError when `group` is not a non-empty string.
   */
  leaveLocal(group: string): GroupChange[] {
    assertName('group', group);
    const count = this.localCount(group);
    return count === 0 ? [] : this.#set(this.selfName, group, count - 1);
  }

  /** How many times this node has joined `group` and not yet left (0 if not a member). */
  localCount(group: string): number {
    return this.#counts.get(this.selfName)?.get(group) ?? 0;
  }

  /** This node's full state, group -> count (> 0): what to send a peer when it connects. */
  localState(): Record<string, number> {
    // fromEntries defines own properties, so a group named "__proto__" survives the round trip.
    return Object.fromEntries(this.#counts.get(this.selfName) ?? []);
  }

  /**
   * Replaces everything `peer` owned with `state` (group -> count > 0), as received on connect.
   * The state comes off the network, so malformed entries (empty or non-string keys,
   * non-integer or non-positive counts) are skipped, and a `state` that is not an object or a
   * Map counts as empty. A `Map` is accepted because some decoders produce one.
   *
   * @returns a `leave` of `peer` for each group it is no longer in, then a `join` for each group
   * it newly entered; `[]` when the sync re-states what we already knew.
   * @throws Error when `peer` is this node: only we are the authority on our memberships.
   */
  applySync(peer: string, state: Record<string, number>): GroupChange[] {
    this.#assertPeer(peer);
    const next = parseState(state);
    const changes: GroupChange[] = [];
    for (const group of [...(this.#counts.get(peer)?.keys() ?? [])]) {
      if (!next.has(group)) changes.push(...this.#set(peer, group, 0));
    }
    for (const [group, count] of next) changes.push(...this.#set(peer, group, count));
    return changes;
  }

  /**
   * Sets `peer`'s join count for `group` to `count` (0 = not a member). Counts are absolute,
   * so a replayed delta is harmless and nothing can go negative. A malformed delta (empty or
   * non-string group, count not a non-negative integer) is ignored.
   *
   * @returns the `join` or `leave` of `peer` if its membership flipped, else `[]`.
   * @throws Error when `peer` is this node.
   */
  applyDelta(peer: string, group: string, count: number): GroupChange[] {
    this.#assertPeer(peer);
    if (!isName(group) || !Number.isSafeInteger(count) || count < 0) return [];
    return this.#set(peer, group, count);
  }

  /**
   * Forgets every membership of `peer` at once, e.g. when its connection is lost.
   *
   * @returns exactly one `leave` of `peer` per group it was in.
   * @throws Error when `peer` is this node.
   */
  dropPeer(peer: string): GroupChange[] {
    this.#assertPeer(peer);
    const changes: GroupChange[] = [];
    for (const group of [...(this.#counts.get(peer)?.keys() ?? [])]) {
      changes.push(...this.#set(peer, group, 0));
    }
    return changes;
  }

  /**
   * The distinct members of `group`, sorted, this node included if joined. The array is frozen
   * and stays the same object until the group's member list changes, so callers may cache
   * whatever they derive from it by identity. Unknown groups share one frozen empty array.
   */
  members(group: string): readonly string[] {
    const cached = this.#snapshots.get(group);
    if (cached !== undefined) return cached;
    const set = this.#members.get(group);
    if (set === undefined) return EMPTY;
    // Default sort compares UTF-16 code units: deterministic and identical on every node.
    const snapshot = Object.freeze([...set].sort());
    this.#snapshots.set(group, snapshot);
    return snapshot;
  }

  /** Names of the groups with at least one member anywhere, sorted. */
  groups(): string[] {
    return [...this.#members.keys()].sort();
  }

  /** The groups `node` is a member of, sorted (for diagnostics). */
  groupsOf(node: string): string[] {
    return [...(this.#counts.get(node)?.keys() ?? [])].sort();
  }

  /**
   * The one place counts change: sets `node`'s count for `group` and reports the visible
   * change, if any. Count changes that keep a node in (1 -> 2) or out (0 -> 0) are invisible
   * and keep the snapshot's identity.
   */
  #set(node: string, group: string, count: number): GroupChange[] {
    let groups = this.#counts.get(node);
    const wasMember = groups?.has(group) ?? false;
    if (count > 0) {
      if (groups === undefined) {
        groups = new Map();
        this.#counts.set(node, groups);
      }
      groups.set(group, count);
    } else if (groups !== undefined) {
      groups.delete(group);
      // Drop empty inner maps so departed peers leave nothing behind.
      if (groups.size === 0) this.#counts.delete(node);
    }
    const isMember = count > 0;
    if (wasMember === isMember) return [];

    this.#snapshots.delete(group);
    let set = this.#members.get(group);
    if (isMember) {
      if (set === undefined) {
        set = new Set();
        this.#members.set(group, set);
      }
      set.add(node);
    } else if (set !== undefined) {
      set.delete(node);
      if (set.size === 0) this.#members.delete(group);
    }
    return [{ group, type: isMember ? 'join' : 'leave', nodes: Object.freeze([node]) }];
  }

  /** Remote operations naming ourselves would let a peer rewrite our authoritative state. */
  #assertPeer(peer: string): void {
    assertName('peer', peer);
    if (peer === this.selfName) {
      throw new Error(`peer must not be this node (${JSON.stringify(peer)}): local state is ours`);
    }
  }
}

/** Group and node names: non-empty strings, so "" can never become a silent member. */
function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/** Throws the documented TypeError for a bad name argument. */
function assertName(field: string, value: unknown): asserts value is string {
  if (!isName(value)) {
    throw new TypeError(`${field} must be a non-empty string, got ${describe(value)}`);
  }
}

/** A short, safe rendering of an unexpected value for error messages. */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${typeof value} ${String(value)}`;
  }
  return Array.isArray(value) ? 'an array' : typeof value;
}

/** Keeps only well-formed entries of a synced state; the input is untrusted network data. */
function parseState(state: unknown): Map<string, number> {
  const entries: Iterable<[unknown, unknown]> =
    state instanceof Map
      ? state.entries()
      : typeof state === 'object' && state !== null && !Array.isArray(state)
        ? Object.entries(state)
        : [];
  const valid = new Map<string, number>();
  for (const [group, count] of entries) {
    if (isName(group) && Number.isSafeInteger(count) && (count as number) > 0) {
      valid.set(group, count as number);
    }
  }
  return valid;
}
