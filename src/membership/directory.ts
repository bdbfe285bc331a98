/**
 * Group memberships of nodes this node is not connected to, as a discovery backend that carries
 * groups reports them (`connections: 'on-demand'`).
 *
 * A connected peer is the authority on its own groups: it tells this node directly, and its
 * entry here is ignored while the connection lasts. A node that is not connected counts as a
 * member of the groups its entry lists, so a balancer can select it and the call dials it.
 *
 * A node that this node saw go down (its connection lost, or a dial to it refused) is left out
 * until its entry shows a new incarnation (it restarted), vanishes (its lease or TTL ran out),
 * or outlives the time a dead node's entry can last (`retryAfterMs`): then it is alive, and
 * counted again. So a crashed member stops being selected as soon as one connection to it
 * breaks, without waiting for the backend to expire its entry.
 */

/** One node as the backend reports it. */
export interface DirectoryEntry {
  /** Its advertised `host:port`. */
  readonly address: string;
  /** Which run of the node registered the entry. */
  readonly incarnation?: string;
  /** Its groups with its join counts. */
  readonly groups?: Readonly<Record<string, number>>;
}

/** What the directory needs of the node. */
export interface DirectoryHost {
  /** Whether a ready connection to `name` exists (its groups then come from it directly). */
  isConnected(name: string): boolean;
  /** Replaces what `name` is known to be a member of with `groups`. */
  applyGroups(name: string, groups: Readonly<Record<string, number>>): void;
  /** Forgets every membership of `name`. */
  dropGroups(name: string): void;
}

interface Lost {
  /** The incarnation seen lost (`undefined`: not known). */
  readonly incarnation: string | undefined;
  readonly timer: NodeJS.Timeout;
}

export class Directory {
  readonly #host: DirectoryHost;
  readonly #retryAfterMs: number;
  #entries: ReadonlyMap<string, DirectoryEntry> = new Map();
  /** Names whose memberships currently come from their entry. */
  readonly #applied = new Set<string>();
  readonly #lost = new Map<string, Lost>();

  /**
   * @param retryAfterMs how long after a node was seen lost its unchanged entry is trusted
   *   again: longer than the backend can keep a dead node's entry.
   */
  constructor(host: DirectoryHost, retryAfterMs: number) {
    this.#host = host;
    this.#retryAfterMs = retryAfterMs;
  }

  /** Applies the backend's whole current view (node name → entry). */
  update(entries: ReadonlyMap<string, DirectoryEntry>): void {
    const before = this.#entries;
    this.#entries = entries;
    for (const name of before.keys()) {
      if (!entries.has(name)) this.#vanished(name);
    }
    for (const [name, entry] of entries) {
      const old = before.get(name);
      const lost = this.#lost.get(name);
      if (lost !== undefined && entry.incarnation !== lost.incarnation) this.#unmark(name);
      if (old === undefined || !sameEntry(old, entry)) this.#refresh(name);
    }
  }

  /** The address to dial `name` at, unless it is unknown or was seen lost. */
  addressOf(name: string): string | undefined {
    if (this.#lost.has(name)) return undefined;
    return this.#entries.get(name)?.address;
  }

  /** Names the backend reports, sorted. */
  names(): string[] {
    return [...this.#entries.keys()].sort();
  }

  /** A connection to `name` is ready: its own group sync replaces what its entry said. */
  peerUp(name: string): void {
    this.#unmark(name);
    this.#applied.delete(name);
  }

  /**
   * `name` went down (its memberships were dropped with the connection): left out until its
   * entry changes, vanishes, or outlives `retryAfterMs`.
   */
  peerDown(name: string, incarnation: string | undefined): void {
    this.#markLost(name, incarnation);
  }

  /**
   * `true` when `name`'s entry lists exactly `groups` (the groups it is a member of, as its
   * connection told): closing the connection for idleness would change nothing in its groups.
   */
  reports(name: string, groups: readonly string[]): boolean {
    const entry = this.#entries.get(name);
    if (entry === undefined || this.#lost.has(name)) return false;
    const listed = Object.keys(entry.groups ?? {}).filter((g) => (entry.groups?.[g] ?? 0) > 0);
    return listed.length === groups.length && groups.every((g) => listed.includes(g));
  }

  /**
   * The connection to `name` was closed for idleness, by either side: the node is still there,
   * so its entry speaks for its groups again, replacing what the connection told with no leave
   * in between (without an entry, nothing speaks for it: its memberships are dropped).
   */
  idleClosed(name: string): void {
    this.#unmark(name);
    const entry = this.#entries.get(name);
    if (entry === undefined) return this.#host.dropGroups(name);
    this.#applied.add(name);
    this.#host.applyGroups(name, entry.groups ?? {});
  }

  /** A dial to `name` failed: left out as if it had gone down. */
  dialFailed(name: string): void {
    if (this.#host.isConnected(name)) return;
    this.#markLost(name, this.#entries.get(name)?.incarnation);
  }

  /** Stops the timers (the node is closing). */
  clear(): void {
    for (const lost of this.#lost.values()) clearTimeout(lost.timer);
    this.#lost.clear();
  }

  #markLost(name: string, incarnation: string | undefined): void {
    this.#unmark(name);
    const timer = setTimeout(() => {
      if (this.#lost.get(name)?.timer !== timer) return;
      this.#lost.delete(name);
      this.#refresh(name);
    }, this.#retryAfterMs);
    timer.unref();
    this.#lost.set(name, { incarnation, timer });
    if (this.#applied.delete(name)) this.#host.dropGroups(name);
  }

  #unmark(name: string): void {
    const lost = this.#lost.get(name);
    if (lost === undefined) return;
    clearTimeout(lost.timer);
    this.#lost.delete(name);
  }

  #vanished(name: string): void {
    this.#unmark(name);
    if (this.#applied.delete(name)) this.#host.dropGroups(name);
  }

  /** Counts `name`'s entry, unless it is connected or was seen lost. */
  #refresh(name: string): void {
    const entry = this.#entries.get(name);
    if (entry === undefined || this.#host.isConnected(name) || this.#lost.has(name)) return;
    this.#applied.add(name);
    this.#host.applyGroups(name, entry.groups ?? {});
  }
}

function sameEntry(a: DirectoryEntry, b: DirectoryEntry): boolean {
  if (a.address !== b.address || a.incarnation !== b.incarnation) return false;
  const ga = Object.entries(a.groups ?? {});
  const gb = b.groups ?? {};
  if (ga.length !== Object.keys(gb).length) return false;
  return ga.every(([group, count]) => Object.hasOwn(gb, group) && gb[group] === count);
}
