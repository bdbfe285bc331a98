/**
 * The node's side of the discovery seam: makes the backend from the `discovery` option, starts
 * and stops it, and turns each view it reports into dials: new addresses are kept dialled, and
 * vanished ones forgotten. It never closes a connection: liveness is the heartbeats' business.
 */

import { formatAddress, isWildcardHost, parseAddress } from '../addresses.js';
import type { Logger } from '../logger.js';
import { describe, isDiscovery, isValidNodeName } from '../options.js';
import { readExtras } from './entry.js';
import { messageOf } from './registry.js';
import { seedDiscovery } from './seeds.js';
import type { DiscoveredNode, Discovery, DiscoveryFactory, DiscoveryHost } from './types.js';

/** Entries read from one view at most (a backend gone wrong cannot make the node dial without bound). */
export const MAX_VIEW_ENTRIES = 10_000;

/** What the driver needs of the transport. */
export interface DialTarget {
  /** Keeps `address` dialled (and dialled again whenever its node is lost) until forgotten. */
  keep(address: string, peer: string | undefined, label: string): void;
  /** Stops re-dialling `address`; a connection to it stays. */
  forget(address: string): void;
  /** `true` when `address` is known to lead to this node itself. */
  isSelf(address: string): boolean;
}

/** What the driver tells the backend about this node. */
export interface DiscoveryNodeInfo {
  readonly name: string;
  /** The advertised address (known once the node listens). */
  address(): string;
  readonly heartbeatTimeoutMs: number;
  readonly logger: Logger;
  /** This run of the node. */
  readonly incarnation: string;
  /** This node's groups with its join counts. */
  groups(): Readonly<Record<string, number>>;
}

/** A named node of the last view, as {@link DiscoveryDriver.entries} gives it. */
export interface DiscoveryEntry {
  /** Its advertised address, in canonical form. */
  readonly address: string;
  /** Which run of the node registered the entry, when the backend carries it. */
  readonly incarnation?: string;
  /** Its groups with their join counts, when the backend carries them (malformed ones dropped). */
  readonly groups?: Readonly<Record<string, number>>;
}

/** Called after each applied view with its named entries (see {@link DiscoveryDriver.onView}). */
export type DiscoveryViewListener = (entries: ReadonlyMap<string, DiscoveryEntry>) => void;

/** Discoveries started by a node: one instance serves one node. */
const inUse = new WeakSet<Discovery>();

/**
 * The backend a node runs with: the `discovery` option (a factory is called), else the seeds.
 * Throws a `TypeError` for a factory that returns no Discovery or an instance already in use.
 */
export function makeDiscovery(
  option: Discovery | DiscoveryFactory | undefined,
  seeds: readonly string[],
): Discovery {
  if (option === undefined) return seedDiscovery(seeds);
  const discovery = typeof option === 'function' ? option() : option;
  if (!isDiscovery(discovery)) {
    throw new TypeError(
      `option "discovery": the function must return a Discovery (an object with start and stop methods), it returned ${describe(discovery)}`,
    );
  }
  if (inUse.has(discovery)) {
    throw new TypeError(
      `option "discovery": this ${discovery.kind ?? 'discovery'} instance is already used by another node; ` +
        'give a function that makes one per node (e.g. `discovery: () => dnsDiscovery({...})`)',
    );
  }
  inUse.add(discovery);
  return discovery;
}

/** One node's discovery: its backend, the last view it reported, and the dials it keeps. */
export { messageOf };

export class DiscoveryDriver {
  readonly discovery: Discovery;
  readonly #target: DialTarget;
  readonly #info: DiscoveryNodeInfo;
  readonly #label: string;
  /** The last view: address → node name, if reported. */
  #view = new Map<string, string | undefined>();
  /** The named entries of the last view: node name → entry. */
  #entries: ReadonlyMap<string, DiscoveryEntry> = new Map();
  /**
   * Called after each applied view (after its dials) with {@link entries}; a throw is logged.
   * Set by the node, e.g. to learn the groups of nodes it is not connected to.
   */
  onView: DiscoveryViewListener | undefined;
  #started = false;
  /** The last warning about malformed entries. */
  #complaint: string | undefined;
  #stopping: Promise<void> | undefined;
  #groupsPending = false;

  constructor(discovery: Discovery, target: DialTarget, info: DiscoveryNodeInfo) {
    this.discovery = discovery;
    this.#target = target;
    this.#info = info;
    const kind = discovery.kind ?? 'discovery';
    this.#label = kind === 'seeds' ? 'seed' : `${kind} address`;
  }

  /** Whether peers' peer lists are acted upon. */
  get peerExchange(): boolean {
    return this.discovery.peerExchange ?? true;
  }

  /** Starts the backend; rejects when it does (a configuration error). */
  async start(): Promise<void> {
    this.#started = true;
    const host: DiscoveryHost = {
      name: this.#info.name,
      address: this.#info.address(),
      heartbeatTimeoutMs: this.#info.heartbeatTimeoutMs,
      logger: this.#info.logger,
      incarnation: this.#info.incarnation,
      groups: () => this.#info.groups(),
      update: (nodes) => this.update(nodes),
    };
    await this.discovery.start(host);
  }

  /**
   * Applies a view: dials what is new (or now has another name), forgets what vanished. Once
   * the node is closing, views are ignored.
   */
  update(nodes: Iterable<DiscoveredNode>): void {
    if (this.#stopping || !this.#started) return;
    if (nodes === null || typeof (nodes as Iterable<unknown>)?.[Symbol.iterator] !== 'function') {
      throw new TypeError(
        `discovery update(nodes): expected an iterable, received ${describe(nodes)}`,
      );
    }
    const next = new Map<string, string | undefined>();
    const entries = new Map<string, DiscoveryEntry>();
    const bad: unknown[] = [];
    for (const node of nodes) {
      if (next.size >= MAX_VIEW_ENTRIES) break;
      const entry = normalize(node);
      if (entry === undefined) bad.push(node);
      else if (!this.#isSelf(entry.address, entry.name)) {
        next.set(entry.address, entry.name);
        // A name reported twice: the later entry wins, as in the backend's own map.
        if (entry.name !== undefined) entries.set(entry.name, entry.fields);
      }
    }
    // Said once while the same entries stay malformed, not at every view.
    const complaint =
      bad.length === 0
        ? undefined
        : `${this.discovery.kind ?? 'discovery'} reported ${bad.length} malformed entr${bad.length === 1 ? 'y' : 'ies'} (left out), e.g. ${describeEntry(bad[0])}`;
    if (complaint !== undefined && complaint !== this.#complaint) this.#info.logger.warn(complaint);
    this.#complaint = complaint;
    for (const address of this.#view.keys()) {
      if (!next.has(address)) this.#target.forget(address);
    }
    for (const [address, name] of next) {
      if (!this.#view.has(address) || this.#view.get(address) !== name)
        this.#target.keep(address, name, this.#label);
    }
    this.#view = next;
    this.#entries = entries;
    this.#notify();
  }

  #notify(): void {
    const listener = this.onView;
    if (listener === undefined) return;
    try {
      listener(this.#entries);
    } catch (err) {
      this.#info.logger.warn(`discovery view listener failed: ${messageOf(err)}`);
    }
  }

  /**
   * This node's groups changed: tells a backend that carries groups once per burst (the
   * changes of one tick are coalesced), never before `start` nor once stopping.
   */
  groupsChanged(): void {
    if (!this.#started || this.#stopping || this.#groupsPending) return;
    if (this.discovery.groupsChanged === undefined) return;
    this.#groupsPending = true;
    setImmediate(() => {
      this.#groupsPending = false;
      if (this.#stopping) return;
      const discovery = this.discovery;
      try {
        discovery.groupsChanged?.();
      } catch (err) {
        this.#info.logger.warn(
          `${discovery.kind ?? 'discovery'} failed to register this node's groups: ${messageOf(err)}`,
        );
      }
    });
  }

  /**
   * The named nodes of the last view (name → address, incarnation, groups), this node left
   * out. Nodes reported without a name are only in {@link view}.
   */
  entries(): ReadonlyMap<string, DiscoveryEntry> {
    return this.#entries;
  }

  /** The addresses of the last view, with the names reported. */
  view(): ReadonlyMap<string, string | undefined> {
    return this.#view;
  }

  /** Stops the backend once, waiting for it at most `budgetMs`; a failure is logged. */
  stop(budgetMs: number): Promise<void> {
    this.#stopping ??= this.#stop(budgetMs);
    return this.#stopping;
  }

  async #stop(budgetMs: number): Promise<void> {
    if (!this.#started) return;
    let timer: NodeJS.Timeout | undefined;
    const stopped = Promise.resolve()
      .then(() => this.discovery.stop())
      .then(
        () => true,
        (err: unknown) => {
          this.#info.logger.warn(
            `${this.discovery.kind ?? 'discovery'} failed to stop: ${messageOf(err)}`,
          );
          return true;
        },
      );
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), budgetMs);
    });
    const inTime = await Promise.race([stopped, late]);
    clearTimeout(timer);
    if (!inTime) {
      this.#info.logger.warn(
        `${this.discovery.kind ?? 'discovery'} did not stop within ${budgetMs} ms; going on without it`,
      );
    }
  }

  #isSelf(address: string, name: string | undefined): boolean {
    return name === this.#info.name || this.#target.isSelf(address);
  }
}

/**
 * The entry with its address in canonical form and its checked `groups` and `incarnation`
 * (dropped when malformed), or `undefined` when the entry itself is malformed.
 */
function normalize(
  node: unknown,
): { address: string; name: string | undefined; fields: DiscoveryEntry } | undefined {
  if (typeof node !== 'object' || node === null) return undefined;
  const { address, name, groups, incarnation } = node as Record<string, unknown>;
  if (name !== undefined && !isValidNodeName(name)) return undefined;
  let canonical: string;
  try {
    const { host, port } = parseAddress(address, 'address');
    // A wildcard leads nowhere but back to whoever dials it.
    if (isWildcardHost(host)) return undefined;
    canonical = formatAddress(host, port);
  } catch {
    return undefined;
  }
  const fields = Object.freeze({ address: canonical, ...readExtras({ groups, incarnation }) });
  return { address: canonical, name, fields };
}

function describeEntry(entry: unknown): string {
  if (typeof entry !== 'object' || entry === null) return describe(entry);
  const { address, name } = entry as { address?: unknown; name?: unknown };
  return `{ address: ${describe(address)}, name: ${describe(name)} }`;
}
